"""Groups, service accounts, policy entities and the deployment's info through MinIO's admin
API with minio-py's MinioAdmin, and S3 calls signed as a group member and as service accounts
with boto3. Prints one JSON document: what each step answered."""


import s3lib

step = s3lib.Steps()
out = step.out



root = s3lib.admin()
s3 = s3lib.client()
s3.create_bucket(Bucket="data")
s3.put_object(Bucket="data", Key="a.txt", Body=b"aaa")

# Groups: membership grants the group's policies; a disabled group grants nothing.
root.user_add("dora", "dora-secret-1")
step("group_add", lambda: root.group_add("readers", ["dora"]))
step("group_add_unknown", lambda: root.group_add("readers", ["nobody"]))
step("group_attach", lambda: root.attach_policy(["readonly"], group="readers"))
step("group_info", lambda: root.group_info("readers"))
step("group_list", lambda: root.group_list())
dora = s3lib.client("dora", "dora-secret-1")
step("dora_get", lambda: dora.get_object(Bucket="data", Key="a.txt")["Body"].read().decode())
step("dora_put", lambda: dora.put_object(Bucket="data", Key="d.txt", Body=b"d"))
step("group_disable", lambda: root.group_disable("readers"))
step("dora_get_disabled_group", lambda: dora.get_object(Bucket="data", Key="a.txt"))
step("group_enable", lambda: root.group_enable("readers"))
step("dora_get_again", lambda: dora.get_object(Bucket="data", Key="a.txt")["Body"].read().decode())
step("entities", lambda: root.get_policy_entities(users=["dora"], groups=["readers"], policies=["readonly"]))
step("group_remove_nonempty", lambda: root.group_remove("readers"))
step("group_remove_member", lambda: root.group_remove("readers", ["dora"]))
step("dora_get_removed", lambda: dora.get_object(Bucket="data", Key="a.txt"))
step("group_remove_empty", lambda: root.group_remove("readers"))
step("group_info_gone", lambda: root.group_info("readers"))

# Service accounts: an app's keys under a user, narrowed by their own policy.
root.user_add("erin", "erin-secret-1")
root.attach_policy(["readwrite"], user="erin")
ONLY_GET = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::data/*"]}],
}
erin_admin = s3lib.admin("erin", "erin-secret-1")
step("sa_add", lambda: erin_admin.add_service_account(access_key="erinapp1", secret_key="erinapp1-secret", name="app1", description="reader app", policy=ONLY_GET))
step("sa_add_generated", lambda: erin_admin.add_service_account(name="self"))
step("root_sa", lambda: root.add_service_account(name="rootapp"))
step("sa_info", lambda: root.get_service_account("erinapp1"))
step("sa_list", lambda: root.list_service_account("erin"))
app = s3lib.client("erinapp1", "erinapp1-secret")
step("app_get", lambda: app.get_object(Bucket="data", Key="a.txt")["Body"].read().decode())
step("app_put", lambda: app.put_object(Bucket="data", Key="app.txt", Body=b"x"))
gen = out.get("sa_add_generated", {}).get("ok", {}).get("credentials", {})
if gen:
    selfapp = s3lib.client(gen["accessKey"], gen["secretKey"])
    step("selfapp_put", lambda: selfapp.put_object(Bucket="data", Key="self.txt", Body=b"s")["ResponseMetadata"]["HTTPStatusCode"])
# Another user may not see or touch erin's service accounts.
root.user_add("fred", "fred-secret-1")
fred = s3lib.admin("fred", "fred-secret-1")
step("fred_sa_info", lambda: fred.get_service_account("erinapp1"))
step("fred_sa_delete", lambda: fred.delete_service_account("erinapp1"))
step("sa_disable", lambda: root.update_service_account(access_key="erinapp1", status="off"))
step("app_get_disabled", lambda: app.get_object(Bucket="data", Key="a.txt"))
step("sa_enable", lambda: root.update_service_account(access_key="erinapp1", status="on"))
step("app_get_enabled", lambda: app.get_object(Bucket="data", Key="a.txt")["Body"].read().decode())
# A service account acts for erin but is not erin: no new secret for her, no key of its own.
app_admin = s3lib.admin("erinapp1", "erinapp1-secret")
step("app_sets_parent_secret", lambda: app_admin.user_add("erin", "hijacked-secret-1"))
step("app_adds_service_account", lambda: app_admin.add_service_account(name="escape"))
step("app_lists_service_accounts", lambda: app_admin.list_service_account("erin"))
step("erin_disable", lambda: root.user_disable("erin"))
step("app_get_parent_disabled", lambda: app.get_object(Bucket="data", Key="a.txt"))
root.user_enable("erin")
step("sa_delete", lambda: root.delete_service_account("erinapp1"))
step("app_get_deleted", lambda: app.get_object(Bucket="data", Key="a.txt"))

# The deployment.
step("info", lambda: root.info())
step("usage", lambda: root.get_data_usage_info())
step("account_erin", lambda: s3lib.admin("erin", "erin-secret-1").account_info())
step("account_fred", lambda: fred.account_info())
step.emit()
