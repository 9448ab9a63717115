"""STS with boto3: AssumeRole for a user (narrowed by a session policy), and
AssumeRoleWithWebIdentity for Kubernetes-style service account tokens minted by
oidc_provider.py (whose process the Rust test runs); then S3 calls with the credentials got,
without or with a wrong session token, and after they expire.

Usage: sts.py PROVIDER_WORKDIR   (the server runs with --oidc-issuer <that provider>,
--oidc-audience strata, --oidc-claim-name sub, --sts-min-duration 1s)
Prints one JSON document: what each step answered."""

import json
import os
import sys
import time

import boto3
import botocore
from botocore.config import Config

import oidc_provider
import s3lib

step = s3lib.Steps()
out = step.out
issuer = oidc_provider.Issuer(sys.argv[1])

SA = "system:serviceaccount:apps:uploader"
AUDIENCE = "strata"


def sts(access=None, secret=None):
    """An STS client at the server under test: signed with these credentials, or unsigned.
    No client-side checks (DurationSeconds below AWS's 900), no retries."""
    cfg = Config(
        parameter_validation=False,
        retries={"total_max_attempts": 1},
        signature_version=None if access else botocore.UNSIGNED,
    )
    return boto3.client(
        "sts",
        endpoint_url=s3lib.ENDPOINT,
        region_name=s3lib.REGION,
        aws_access_key_id=access,
        aws_secret_access_key=secret,
        config=cfg,
    )


def creds_of(r):
    """The credentials of an STS answer, and the rest of its result as the client read it."""
    c = r["Credentials"]
    return {
        "access": c["AccessKeyId"],
        "secret": c["SecretAccessKey"],
        "token": c["SessionToken"],
        "expires_in": int(c["Expiration"].timestamp() - time.time()),
        "subject": r.get("SubjectFromWebIdentityToken"),
        "audience": r.get("Audience"),
        "provider": r.get("Provider"),
    }


def s3_as(c, token=True):
    t = c["token"] if token is True else token
    return s3lib.client(c["access"], c["secret"], token=t)


def sa_claims(**over):
    """A projected service account token's claims, valid now."""
    now = int(time.time())
    claims = {
        "iss": issuer.url,
        "aud": [AUDIENCE],
        "sub": SA,
        "exp": now + 600,
        "iat": now,
        "nbf": now,
        "kubernetes.io": {"namespace": "apps", "serviceaccount": {"name": "uploader", "uid": "1b2c"}},
    }
    claims.update(over)
    return claims


def web_identity(token, **kw):
    return creds_of(sts().assume_role_with_web_identity(
        RoleArn="arn:minio:iam:::role/ignored", RoleSessionName="pod", WebIdentityToken=token, **kw))


def policy(statements):
    return {"Version": "2012-10-17", "Statement": statements}


READ_SHARED = policy([
    {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::shared/*"]},
    {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::shared"]},
])
UPLOADS = policy([
    {"Effect": "Allow", "Action": ["s3:PutObject", "s3:GetObject"], "Resource": ["arn:aws:s3:::shared/uploads/*"]},
])

root = s3lib.admin()
s3 = s3lib.client()
s3.create_bucket(Bucket="shared")
s3.put_object(Bucket="shared", Key="hello.txt", Body=b"hello")
s3.create_bucket(Bucket="private")
s3.put_object(Bucket="private", Key="secret.txt", Body=b"s3cr3t")
root.user_add("alice", "alice-secret-1")
root.attach_policy(["readwrite"], user="alice")
# The service account's policy is named after its subject (--oidc-claim-name sub).
root.policy_add(SA, policy=UPLOADS)

# A key id the provider does not publish yet: one refetch, then refused. Five more made-up
# ids right after fetch nothing (at most one fetch per 10 s).
fetches0 = issuer.stats()["jwks_fetches"]
step("wi_unknown_kid", lambda: web_identity(issuer.mint(sa_claims(), kid="k2")))
for i in range(5):
    step(f"wi_made_up_kid_{i}", lambda: web_identity(issuer.mint(sa_claims(), kid="k2", key="k2")))
out["fetches_for_unknown_kids"] = issuer.stats()["jwks_fetches"] - fetches0
issuer.publish("k2")
k2_published = time.time()

# AssumeRole: alice (readwrite) narrowed to reading `shared`.
alice_sts = sts("alice", "alice-secret-1")
step("ar", lambda: creds_of(alice_sts.assume_role(
    RoleArn="arn:xxx:xxx:xxx:xxxx", RoleSessionName="s", Policy=json.dumps(READ_SHARED))))
ar = out["ar"].get("ok")
if ar:
    step("ar_get", lambda: s3_as(ar).get_object(Bucket="shared", Key="hello.txt")["Body"].read().decode())
    step("ar_list", lambda: [o["Key"] for o in s3_as(ar).list_objects_v2(Bucket="shared")["Contents"]])
    step("ar_put", lambda: s3_as(ar).put_object(Bucket="shared", Key="x.txt", Body=b"x"))
    step("ar_private", lambda: s3_as(ar).get_object(Bucket="private", Key="secret.txt"))
    step("ar_no_token", lambda: s3_as(ar, token=None).get_object(Bucket="shared", Key="hello.txt"))
    step("ar_wrong_token", lambda: s3_as(ar, token=ar["token"][:-4] + "AAAA").get_object(Bucket="shared", Key="hello.txt"))
    # Nor outgrow their session through the admin API: no new secret for alice, no lasting
    # service account of hers (which her own keys may make).
    ar_admin = s3lib.admin(ar["access"], ar["secret"], ar["token"])
    step("ar_admin_password", lambda: ar_admin.user_add("alice", "taken-over-secret"))
    step("ar_admin_svcacct", lambda: ar_admin.add_service_account())
    step("ar_admin_svcacct_list", lambda: ar_admin.list_service_account("alice"))
    # Temporary credentials cannot assume a role again.
    step("ar_chain", lambda: sts(ar["access"], ar["secret"]).assume_role(RoleArn="arn:x", RoleSessionName="s"))
step("alice_own_svcacct", lambda: sorted(json.loads(s3lib.admin("alice", "alice-secret-1").add_service_account())["credentials"]))
step("ar_plain", lambda: creds_of(alice_sts.assume_role(RoleArn="arn:x", RoleSessionName="s")))
if "ok" in out["ar_plain"]:
    step("ar_plain_put", lambda: s3_as(out["ar_plain"]["ok"]).put_object(Bucket="shared", Key="y.txt", Body=b"y")["ResponseMetadata"]["HTTPStatusCode"])
# Root's temporary credentials reach the admin API, with their session token only.
step("root_ar", lambda: creds_of(sts(s3lib.ACCESS, s3lib.SECRET).assume_role(RoleArn="arn:x", RoleSessionName="ops")))
if "ok" in out["root_ar"]:
    r = out["root_ar"]["ok"]
    step("root_ar_admin", lambda: sorted(json.loads(s3lib.admin(r["access"], r["secret"], r["token"]).user_list())))
    step("root_ar_admin_no_token", lambda: s3lib.admin(r["access"], r["secret"]).user_list())
# A session narrowed to reading `shared` (and making service accounts) makes a service account:
# it gets the session's policy and ends with the session, never outgrowing it.
NARROW_ADMIN = policy([
    {"Effect": "Allow", "Action": ["admin:CreateServiceAccount", "admin:UpdateServiceAccount"], "Resource": ["arn:aws:s3:::*"]},
    {"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::shared/*"]},
])
step("narrow_ar", lambda: creds_of(sts(s3lib.ACCESS, s3lib.SECRET).assume_role(
    RoleArn="arn:x", RoleSessionName="ops", Policy=json.dumps(NARROW_ADMIN), DurationSeconds=3600)))
if "ok" in out["narrow_ar"]:
    n = out["narrow_ar"]["ok"]
    narrow_admin = s3lib.admin(n["access"], n["secret"], n["token"])
    step("narrow_sa", lambda: narrow_admin.add_service_account(access_key="narrowsa1", secret_key="narrowsa1-secret"))
    step("narrow_sa_info", lambda: root.get_service_account("narrowsa1"))
    step("narrow_sa_wider_policy", lambda: narrow_admin.add_service_account(
        access_key="narrowsa2", secret_key="narrowsa2-secret", policy=policy([
            {"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::*"]}])))
    step("narrow_widens_sa", lambda: narrow_admin.update_service_account(access_key="narrowsa1", policy=policy([
        {"Effect": "Allow", "Action": ["s3:*"], "Resource": ["arn:aws:s3:::*"]}])))
    # ... nor can that service account make one that outlives it.
    sa_admin = s3lib.admin("narrowsa1", "narrowsa1-secret")
    step("sa_made_by_sa", lambda: sa_admin.add_service_account(access_key="narrowsa3", secret_key="narrowsa3-secret"))
    step("sa_made_by_sa_info", lambda: root.get_service_account("narrowsa3"))
    narrow_sa = s3lib.client("narrowsa1", "narrowsa1-secret")
    step("narrow_sa_get", lambda: narrow_sa.get_object(Bucket="shared", Key="hello.txt")["Body"].read().decode())
    step("narrow_sa_put", lambda: narrow_sa.put_object(Bucket="shared", Key="sa.txt", Body=b"x"))
    step("narrow_sa_private", lambda: narrow_sa.get_object(Bucket="private", Key="secret.txt"))
    step("root_ar_admin_wrong_token", lambda: s3lib.admin(r["access"], r["secret"], ar["token"]).user_list())
step("ar_wrong_secret", lambda: sts("alice", "not-her-secret").assume_role(RoleArn="arn:x", RoleSessionName="s"))
step("ar_bad_policy", lambda: alice_sts.assume_role(RoleArn="arn:x", RoleSessionName="s", Policy='{"Statement": 1}'))
step("ar_too_short", lambda: alice_sts.assume_role(RoleArn="arn:x", RoleSessionName="s", DurationSeconds=0))
step("ar_short", lambda: creds_of(alice_sts.assume_role(RoleArn="arn:x", RoleSessionName="s", DurationSeconds=2)))
short_issued = time.time()
if "ok" in out["ar_short"]:
    step("ar_short_get", lambda: s3_as(out["ar_short"]["ok"]).get_object(Bucket="shared", Key="hello.txt")["Body"].read().decode())

# AssumeRoleWithWebIdentity: the service account's token.
step("wi", lambda: web_identity(issuer.mint(sa_claims())))
wi = out["wi"].get("ok")
if wi:
    step("wi_put", lambda: s3_as(wi).put_object(Bucket="shared", Key="uploads/a.txt", Body=b"from pod")["ResponseMetadata"]["HTTPStatusCode"])
    step("wi_get", lambda: s3_as(wi).get_object(Bucket="shared", Key="uploads/a.txt")["Body"].read().decode())
    step("wi_get_outside", lambda: s3_as(wi).get_object(Bucket="shared", Key="hello.txt"))
    step("wi_private", lambda: s3_as(wi).get_object(Bucket="private", Key="secret.txt"))
    step("wi_buckets", lambda: s3_as(wi).list_buckets())
    step("wi_no_token", lambda: s3_as(wi, token=None).get_object(Bucket="shared", Key="uploads/a.txt"))
    step("wi_wrong_token", lambda: s3_as(wi, token=ar["token"] if ar else "x").get_object(Bucket="shared", Key="uploads/a.txt"))
# The credentials last no longer than the token.
step("wi_token_lifetime", lambda: web_identity(issuer.mint(sa_claims(exp=int(time.time()) + 120)))["expires_in"])
step("wi_short", lambda: web_identity(issuer.mint(sa_claims()), DurationSeconds=2))
wi_short_issued = time.time()
# Refused tokens.
now = int(time.time())
step("wi_wrong_issuer", lambda: web_identity(issuer.mint(sa_claims(iss="https://kubernetes.default.svc.cluster.local"))))
step("wi_wrong_audience", lambda: web_identity(issuer.mint(sa_claims(aud=["sts.amazonaws.com"]))))
step("wi_wrong_signature", lambda: web_identity(issuer.mint(sa_claims(), kid="k1", key="rogue")))
step("wi_expired", lambda: web_identity(issuer.mint(sa_claims(exp=now - 3600, iat=now - 7200, nbf=now - 7200))))
step("wi_alg_none", lambda: web_identity(issuer.mint(sa_claims(), alg="none")))
step("wi_alg_hs256", lambda: web_identity(issuer.mint(sa_claims(), alg="HS256")))
step("wi_no_policy", lambda: web_identity(issuer.mint(sa_claims(sub="system:serviceaccount:apps:nobody"))))
step("wi_garbage", lambda: web_identity("not-a-jwt"))
# Actions not served are refused, never accepted and ignored.
step("saml", lambda: sts().assume_role_with_saml(RoleArn="arn:x", PrincipalArn="arn:y", SAMLAssertion="x" * 8))
step("session_token", lambda: alice_sts.get_session_token())
step("caller_identity", lambda: alice_sts.get_caller_identity())

# Past expiry (2 s): refused.
time.sleep(max(0.0, max(short_issued, wi_short_issued) + 3.5 - time.time()))
if "ok" in out["ar_short"]:
    step("ar_short_expired", lambda: s3_as(out["ar_short"]["ok"]).get_object(Bucket="shared", Key="hello.txt"))
if "ok" in out["wi_short"]:
    step("wi_short_expired", lambda: s3_as(out["wi_short"]["ok"]).get_object(Bucket="shared", Key="uploads/a.txt"))
if ar:
    step("ar_still_valid", lambda: s3_as(ar).get_object(Bucket="shared", Key="hello.txt")["Body"].read().decode())

# A key the provider published since: found by the next refetch, 10 s after the last.
time.sleep(max(0.0, k2_published + 11 - time.time()))
step("wi_rotated_kid", lambda: web_identity(issuer.mint(sa_claims(), kid="k2"))["subject"])

# What a pod does: the SDK's own web identity provider reads the projected token file and
# calls AssumeRoleWithWebIdentity (AWS_ENDPOINT_URL_STS), with no key in the environment.
token_file = f"{sys.argv[1]}/sa-token"
with open(token_file, "w") as f:
    f.write(issuer.mint(sa_claims()))
for name in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY"):
    os.environ.pop(name, None)
os.environ.update({
    "AWS_ROLE_ARN": "arn:aws:iam::000000000000:role/uploader",
    "AWS_WEB_IDENTITY_TOKEN_FILE": token_file,
    "AWS_ENDPOINT_URL_STS": s3lib.ENDPOINT,
})
pod = boto3.session.Session(region_name=s3lib.REGION)
out["pod_credentials_method"] = pod.get_credentials().method
pod_s3 = pod.client("s3", endpoint_url=s3lib.ENDPOINT, config=Config(s3={"addressing_style": "path"}))
step("pod_put", lambda: pod_s3.put_object(Bucket="shared", Key="uploads/pod.txt", Body=b"pod")["ResponseMetadata"]["HTTPStatusCode"])
step("pod_get_outside", lambda: pod_s3.get_object(Bucket="shared", Key="hello.txt"))
out["fetches_total"] = issuer.stats()["jwks_fetches"] - fetches0
out["discovery_fetches"] = issuer.stats()["discovery_fetches"]
step.emit()
