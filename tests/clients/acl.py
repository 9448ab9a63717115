"""Canned ACLs with real clients: boto3 (signed as root, or as a user made through the admin API
with minio-py's MinioAdmin) sets and reads them; unsigned HTTP requests (what `curl` sends)
and the user's signed ones are allowed what they grant. Usage: acl.py PHASE.
Prints one JSON document: what each step answered."""

import json
import sys
import urllib.parse

from botocore.exceptions import ClientError
from minio import MinioAdmin
from minio.credentials import StaticProvider

import s3lib

phase = sys.argv[1]
s3 = s3lib.client()
out = {}
READER = ("acl-reader", "acl-reader-secret-1")


anon = s3lib.anon


def call(name, f):
    s3lib.record(out, name, f)


def status(r):
    return r["ResponseMetadata"]["HTTPStatusCode"]


def grants(r):
    """An ACL as [grantee, permission] pairs: the owner as "owner", groups by their URI."""
    owner = r["Owner"]["ID"]
    shown = []
    for g in r["Grants"]:
        who = g["Grantee"]
        if who["Type"] == "CanonicalUser" and who.get("ID") == owner:
            shown.append(["owner", g["Permission"]])
        else:
            shown.append([who.get("URI") or who.get("ID"), g["Permission"]])
    return shown


def exists(bucket, key):
    try:
        s3.head_object(Bucket=bucket, Key=key)
        return True
    except ClientError:
        return False


def reader():
    return s3lib.client(*READER)


def post_form(bucket, fields, content=b"posted"):
    """A browser's multipart/form-data POST upload: the fields, then the file."""
    boundary = "----strataAclBoundary"
    parts = [
        ('--%s\r\nContent-Disposition: form-data; name="%s"\r\n\r\n%s\r\n' % (boundary, k, v)).encode()
        for k, v in fields
    ]
    parts.append(
        ('--%s\r\nContent-Disposition: form-data; name="file"; filename="f.txt"\r\n'
         "Content-Type: text/plain\r\n\r\n" % boundary).encode() + content + b"\r\n"
    )
    parts.append(("--%s--\r\n" % boundary).encode())
    headers = {"Content-Type": "multipart/form-data; boundary=%s" % boundary}
    st, code, _ = s3lib.raw("POST", "/" + bucket, b"".join(parts), headers)
    return {"status": st, "code": code}


def presigned_post(bucket, key, acl):
    p = s3.generate_presigned_post(bucket, key, Fields={"acl": acl}, Conditions=[{"acl": acl}], ExpiresIn=600)
    return list(p["fields"].items())


def public_reads():
    """What the public (and the reader) may do with what `setup` made."""
    r = {}
    r["list_pubread"] = anon("GET", "/acl-pubread?list-type=2")
    r["head_pubread"] = anon("HEAD", "/acl-pubread")
    r["pubread_object"] = anon("GET", "/acl-pubread/hello.txt")
    r["pubread_private_object"] = anon("GET", "/acl-pubread/own.txt")
    r["posted_get"] = anon("GET", "/acl-objs/posted.txt")
    r["open_get"] = anon("GET", "/acl-objs/open.txt")
    r["closed_get"] = anon("GET", "/acl-objs/closed.txt")
    r["dropbox_list"] = anon("GET", "/acl-dropbox?list-type=2")
    try:
        r["reader_auth_get"] = reader().get_object(Bucket="acl-objs", Key="auth.txt")["Body"].read().decode()
    except ClientError as e:
        r["reader_auth_get"] = s3lib.error_of(e)[0]
    r["anon_auth_get"] = anon("GET", "/acl-objs/auth.txt")
    return r


if phase == "setup":
    admin = MinioAdmin(
        endpoint=urllib.parse.urlsplit(s3lib.ENDPOINT).netloc,
        credentials=StaticProvider(s3lib.ACCESS, s3lib.SECRET),
        secure=False,
    )
    admin.user_add(*READER)

    # A public-read bucket: anyone lists it; its objects are read by whom their own ACLs
    # let (as in S3); nobody else writes.
    s3.create_bucket(Bucket="acl-pubread", ACL="public-read")
    s3.put_object(Bucket="acl-pubread", Key="hello.txt", Body=b"hello", ACL="public-read")
    s3.put_object(Bucket="acl-pubread", Key="own.txt", Body=b"own")
    out["pubread_list"] = anon("GET", "/acl-pubread?list-type=2")
    out["pubread_list_v1"] = anon("GET", "/acl-pubread")
    out["pubread_head"] = anon("HEAD", "/acl-pubread")
    out["pubread_put"] = anon("PUT", "/acl-pubread/anon.txt", body=b"x")
    out["pubread_delete"] = anon("DELETE", "/acl-pubread/hello.txt")
    out["pubread_object"] = anon("GET", "/acl-pubread/hello.txt")
    out["pubread_private_object"] = anon("GET", "/acl-pubread/own.txt")
    # A missing key is told to who may list the bucket, not to others (below).
    out["pubread_missing"] = anon("GET", "/acl-pubread/missing.txt")
    call("pubread_acl", lambda: grants(s3.get_bucket_acl(Bucket="acl-pubread")))
    out["pubread_acl_anon"] = anon("GET", "/acl-pubread?acl")

    # Objects with and without public-read in a private bucket.
    s3.create_bucket(Bucket="acl-objs")
    s3.put_object(Bucket="acl-objs", Key="open.txt", Body=b"open bytes", ACL="public-read")
    s3.put_object(Bucket="acl-objs", Key="closed.txt", Body=b"closed bytes")
    s3.put_object(Bucket="acl-objs", Key="auth.txt", Body=b"for members", ACL="authenticated-read")
    out["open_get"] = anon("GET", "/acl-objs/open.txt")
    out["open_head"] = anon("HEAD", "/acl-objs/open.txt")
    out["open_range"] = anon("GET", "/acl-objs/open.txt", headers={"Range": "bytes=0-3"})
    out["closed_get"] = anon("GET", "/acl-objs/closed.txt")
    out["closed_head"] = anon("HEAD", "/acl-objs/closed.txt")
    # Refused before its conditions are looked at: a 304/412 would tell about the object.
    out["closed_if_match"] = anon("GET", "/acl-objs/closed.txt", headers={"If-Match": '"nope"'})
    out["closed_if_none_match"] = anon("GET", "/acl-objs/closed.txt", headers={"If-None-Match": "*"})
    out["objs_missing"] = anon("GET", "/acl-objs/missing.txt")
    out["objs_list"] = anon("GET", "/acl-objs?list-type=2")
    out["open_acl_anon"] = anon("GET", "/acl-objs/open.txt?acl")
    out["open_meta"] = s3.head_object(Bucket="acl-objs", Key="open.txt")["Metadata"]
    call("open_acl", lambda: grants(s3.get_object_acl(Bucket="acl-objs", Key="open.txt")))
    call("closed_acl", lambda: grants(s3.get_object_acl(Bucket="acl-objs", Key="closed.txt")))
    call("auth_acl", lambda: grants(s3.get_object_acl(Bucket="acl-objs", Key="auth.txt")))

    # authenticated-read: any valid key, even one no policy allows anything; not the public.
    try:
        out["reader_auth_get"] = reader().get_object(Bucket="acl-objs", Key="auth.txt")["Body"].read().decode()
    except ClientError as e:
        out["reader_auth_get"] = s3lib.error_of(e)[0]
    call("reader_closed_get", lambda: reader().get_object(Bucket="acl-objs", Key="closed.txt")["Body"].read().decode())
    call("reader_missing", lambda: reader().get_object(Bucket="acl-objs", Key="missing.txt"))
    call("reader_list", lambda: status(reader().list_objects_v2(Bucket="acl-objs")))
    out["anon_auth_get"] = anon("GET", "/acl-objs/auth.txt")
    s3.create_bucket(Bucket="acl-authb", ACL="authenticated-read")
    call("reader_list_authb", lambda: status(reader().list_objects_v2(Bucket="acl-authb")))
    # ListBuckets shows a user without s3:ListAllMyBuckets the buckets it may list.
    call("reader_buckets", lambda: sorted(b["Name"] for b in reader().list_buckets()["Buckets"]))
    out["anon_list_authb"] = anon("GET", "/acl-authb?list-type=2")
    call("reader_put_authb", lambda: status(reader().put_object(Bucket="acl-authb", Key="r", Body=b"r")))
    # A service account's own policy narrows what the ACLs grant it, as it narrows policies.
    only_list = {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::acl-authb"]}]}
    s3lib.admin(*READER).add_service_account(access_key="acl-narrow", secret_key="acl-narrow-secret-1", policy=only_list)
    s3lib.admin(*READER).add_service_account(access_key="acl-wide", secret_key="acl-wide-secret-1")
    narrow, wide = s3lib.client("acl-narrow", "acl-narrow-secret-1"), s3lib.client("acl-wide", "acl-wide-secret-1")
    call("narrow_list_authb", lambda: status(narrow.list_objects_v2(Bucket="acl-authb")))
    call("narrow_get_auth", lambda: narrow.get_object(Bucket="acl-objs", Key="auth.txt")["Body"].read().decode())
    call("wide_get_auth", lambda: wide.get_object(Bucket="acl-objs", Key="auth.txt")["Body"].read().decode())
    # Setting a public ACL needs s3:PutObjectAcl (the reader has nothing).
    call("reader_sets_acl", lambda: reader().put_object_acl(Bucket="acl-objs", Key="auth.txt", ACL="public-read"))

    # Multipart: the ACL given at creation is the object's at completion.
    mpu = s3.create_multipart_upload(Bucket="acl-objs", Key="mpu.txt", ACL="public-read")
    part = s3.upload_part(Bucket="acl-objs", Key="mpu.txt", UploadId=mpu["UploadId"], PartNumber=1, Body=b"multi part")
    out["mpu_before_complete"] = anon("GET", "/acl-objs/mpu.txt")
    s3.complete_multipart_upload(
        Bucket="acl-objs", Key="mpu.txt", UploadId=mpu["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": part["ETag"]}]},
    )
    out["mpu_get"] = anon("GET", "/acl-objs/mpu.txt")

    # A copy gets the ACL it asks for, never its source's; a public-read source may be copied
    # by whoever may read it.
    s3.copy_object(Bucket="acl-objs", Key="copy-public.txt", CopySource="acl-objs/closed.txt", ACL="public-read")
    s3.copy_object(Bucket="acl-objs", Key="copy-plain.txt", CopySource="acl-objs/open.txt")
    out["copy_public_get"] = anon("GET", "/acl-objs/copy-public.txt")
    out["copy_plain_get"] = anon("GET", "/acl-objs/copy-plain.txt")
    # (The target must be writable too: acl-authb is not, yet.)
    call("reader_copies_to_readonly", lambda: status(reader().copy_object(Bucket="acl-authb", Key="c", CopySource="acl-objs/open.txt")))
    s3.put_bucket_acl(Bucket="acl-authb", ACL="public-read-write")
    call("reader_copies_open", lambda: status(reader().copy_object(Bucket="acl-authb", Key="c", CopySource="acl-objs/open.txt")))
    call("reader_copies_closed", lambda: status(reader().copy_object(Bucket="acl-authb", Key="d", CopySource="acl-objs/closed.txt")))
    out["copied"] = {"c": exists("acl-authb", "c"), "d": exists("acl-authb", "d")}
    up = reader().create_multipart_upload(Bucket="acl-authb", Key="parts")["UploadId"]
    for n, src in [(1, "open"), (2, "closed")]:
        call("reader_part_copy_" + src, lambda: status(reader().upload_part_copy(
            Bucket="acl-authb", Key="parts", UploadId=up, PartNumber=n, CopySource="acl-objs/%s.txt" % src
        )))
    call("reader_aborts", lambda: status(reader().abort_multipart_upload(Bucket="acl-authb", Key="parts", UploadId=up)))
    s3.put_bucket_acl(Bucket="acl-authb", ACL="authenticated-read")

    # public-read-write: anonymous writes and deletes; setting an ACL still needs more.
    s3.create_bucket(Bucket="acl-dropbox", ACL="public-read-write")
    out["dropbox_put"] = anon("PUT", "/acl-dropbox/anon.txt", body=b"dropped")
    out["dropbox_put_public"] = anon(
        "PUT", "/acl-dropbox/anon-public.txt", body=b"x", headers={"x-amz-acl": "public-read"}
    )
    out["dropbox_put_public_written"] = exists("acl-dropbox", "anon-public.txt")
    out["dropbox_read_back"] = s3.get_object(Bucket="acl-dropbox", Key="anon.txt")["Body"].read().decode()
    out["dropbox_put2"] = anon("PUT", "/acl-dropbox/gone.txt", body=b"gone")
    out["dropbox_delete"] = anon("DELETE", "/acl-dropbox/gone.txt")
    out["dropbox_deleted"] = not exists("acl-dropbox", "gone.txt")
    out["dropbox_get_object"] = anon("GET", "/acl-dropbox/anon.txt")
    out["dropbox_delete_bucket"] = anon("DELETE", "/acl-dropbox")
    out["dropbox_put_acl"] = anon("PUT", "/acl-dropbox?acl", headers={"x-amz-acl": "private"})
    call("dropbox_acl", lambda: grants(s3.get_bucket_acl(Bucket="acl-dropbox")))

    # The bucket-owner ACLs grant the bucket's owner, who owns the object too: private.
    call("owner_full", lambda: status(s3.put_object(Bucket="acl-objs", Key="owner.txt", Body=b"x", ACL="bucket-owner-full-control")))
    call("owner_full_acl", lambda: grants(s3.get_object_acl(Bucket="acl-objs", Key="owner.txt")))
    out["owner_full_anon"] = anon("GET", "/acl-objs/owner.txt")
    # What is not kept is refused, never accepted and ignored; an unknown name is invalid.
    call("exec_read", lambda: s3.put_object(Bucket="acl-objs", Key="exec.txt", Body=b"x", ACL="aws-exec-read"))
    out["unknown_put"] = s3lib.raw("PUT", "/acl-objs/unknown.txt", b"x", {"x-amz-acl": "world-readable"})[:2]
    call("unknown_put_signed", lambda: s3.put_object(Bucket="acl-objs", Key="unknown.txt", Body=b"x", ACL="world-readable"))
    call("unknown_bucket_acl", lambda: s3.put_bucket_acl(Bucket="acl-objs", ACL="world-readable"))
    call("unknown_create", lambda: s3.create_bucket(Bucket="acl-unknown", ACL="world-readable"))
    call("unknown_create_exists", lambda: status(s3.head_bucket(Bucket="acl-unknown")))
    call("log_delivery", lambda: s3.put_bucket_acl(Bucket="acl-objs", ACL="log-delivery-write"))
    call("grant_header", lambda: s3.put_object_acl(
        Bucket="acl-objs", Key="closed.txt", GrantRead='uri="http://acs.amazonaws.com/groups/global/AllUsers"'
    ))
    owner = s3.get_bucket_acl(Bucket="acl-objs")["Owner"]
    full = {"Grantee": {"Type": "CanonicalUser", "ID": owner["ID"]}, "Permission": "FULL_CONTROL"}
    everyone = {"Grantee": {"Type": "Group", "URI": "http://acs.amazonaws.com/groups/global/AllUsers"}, "Permission": "READ"}
    call("other_user_grant", lambda: s3.put_object_acl(
        Bucket="acl-objs", Key="closed.txt",
        AccessControlPolicy={"Owner": owner, "Grants": [full, {"Grantee": {"Type": "CanonicalUser", "ID": "someone-else"}, "Permission": "READ"}]},
    ))
    call("write_only_grant", lambda: s3.put_bucket_acl(
        Bucket="acl-objs",
        AccessControlPolicy={"Owner": owner, "Grants": [full, dict(everyone, Permission="WRITE")]},
    ))
    out["closed_after_refusals"] = anon("GET", "/acl-objs/closed.txt")
    out["objs_list_after_refusals"] = anon("GET", "/acl-objs?list-type=2")
    out["refused_written"] = {k: exists("acl-objs", k) for k in ["exec.txt", "unknown.txt"]}
    call("objs_acl_after_refusals", lambda: grants(s3.get_bucket_acl(Bucket="acl-objs")))
    call("closed_acl_after_refusals", lambda: grants(s3.get_object_acl(Bucket="acl-objs", Key="closed.txt")))

    # Browser POST: the form's acl field is the object's ACL (and what the policy signs).
    out["post_public"] = post_form("acl-objs", presigned_post("acl-objs", "posted.txt", "public-read"))
    out["post_public_get"] = anon("GET", "/acl-objs/posted.txt")
    call("post_public_acl", lambda: grants(s3.get_object_acl(Bucket="acl-objs", Key="posted.txt")))
    out["post_private"] = post_form("acl-objs", presigned_post("acl-objs", "posted-private.txt", "private"))
    out["post_private_get"] = anon("GET", "/acl-objs/posted-private.txt")
    out["post_unknown"] = post_form("acl-objs", presigned_post("acl-objs", "posted-bad.txt", "world-readable"))
    out["post_exec"] = post_form("acl-objs", presigned_post("acl-objs", "posted-exec.txt", "aws-exec-read"))
    out["post_refused_written"] = {k: exists("acl-objs", k) for k in ["posted-bad.txt", "posted-exec.txt"]}

    # PutObjectAcl: private ends public access; a body equal to public-read grants it.
    call("open_private", lambda: status(s3.put_object_acl(Bucket="acl-objs", Key="open2.txt", ACL="private")))
    s3.put_object(Bucket="acl-objs", Key="open2.txt", Body=b"two", ACL="public-read")
    out["open2_before"] = anon("GET", "/acl-objs/open2.txt")
    last_modified = s3.head_object(Bucket="acl-objs", Key="open2.txt")["LastModified"]
    call("open2_private", lambda: status(s3.put_object_acl(Bucket="acl-objs", Key="open2.txt", ACL="private")))
    out["open2_after"] = anon("GET", "/acl-objs/open2.txt")
    out["open2_kept_last_modified"] = s3.head_object(Bucket="acl-objs", Key="open2.txt")["LastModified"] == last_modified
    s3.put_object(Bucket="acl-objs", Key="body.txt", Body=b"by body")
    call("body_public", lambda: status(s3.put_object_acl(
        Bucket="acl-objs", Key="body.txt", AccessControlPolicy={"Owner": owner, "Grants": [full, everyone]}
    )))
    out["body_get"] = anon("GET", "/acl-objs/body.txt")
    call("body_acl", lambda: grants(s3.get_object_acl(Bucket="acl-objs", Key="body.txt")))

    # An explicit Deny of a bucket policy beats a public-read ACL.
    s3.create_bucket(Bucket="acl-denied", ACL="public-read")
    s3.put_object(Bucket="acl-denied", Key="secret/x.txt", Body=b"secret", ACL="public-read")
    s3.put_object(Bucket="acl-denied", Key="open/y.txt", Body=b"fine", ACL="public-read")
    s3.put_bucket_policy(Bucket="acl-denied", Policy=json.dumps({
        "Version": "2012-10-17",
        "Statement": [
            {"Effect": "Deny", "Principal": "*", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::acl-denied/secret/*"]},
            {"Effect": "Deny", "Principal": "*", "Action": ["s3:ListBucket"], "Resource": ["arn:aws:s3:::acl-denied"],
             "Condition": {"StringEquals": {"s3:prefix": "secret/"}}},
        ],
    }))
    out["denied_secret"] = anon("GET", "/acl-denied/secret/x.txt")
    out["denied_open"] = anon("GET", "/acl-denied/open/y.txt")
    out["denied_list_secret"] = anon("GET", "/acl-denied?list-type=2&prefix=secret/")
    out["denied_list_open"] = anon("GET", "/acl-denied?list-type=2&prefix=open/")
    call("reader_denied_secret", lambda: reader().get_object(Bucket="acl-denied", Key="secret/x.txt")["Body"].read().decode())
    call("reader_denied_open", lambda: reader().get_object(Bucket="acl-denied", Key="open/y.txt")["Body"].read().decode())

    # PublicAccessBlock: BlockPublicAcls refuses setting public ACLs (private is fine);
    # IgnorePublicAcls makes those set grant nothing until it is removed.
    s3.create_bucket(Bucket="acl-blocked", ACL="public-read")
    s3.put_object(Bucket="acl-blocked", Key="pub.txt", Body=b"was public", ACL="public-read")
    # An upload begun public before the block cannot complete public after it.
    early = s3.create_multipart_upload(Bucket="acl-blocked", Key="early.txt", ACL="public-read")
    early_part = s3.upload_part(Bucket="acl-blocked", Key="early.txt", UploadId=early["UploadId"], PartNumber=1, Body=b"early")
    s3.put_public_access_block(Bucket="acl-blocked", PublicAccessBlockConfiguration={"BlockPublicAcls": True})
    call("block_mpu_complete", lambda: s3.complete_multipart_upload(
        Bucket="acl-blocked", Key="early.txt", UploadId=early["UploadId"],
        MultipartUpload={"Parts": [{"PartNumber": 1, "ETag": early_part["ETag"]}]}))
    call("block_put", lambda: s3.put_object(Bucket="acl-blocked", Key="new.txt", Body=b"x", ACL="public-read"))
    call("block_put_object_acl", lambda: s3.put_object_acl(Bucket="acl-blocked", Key="pub.txt", ACL="authenticated-read"))
    call("block_put_bucket_acl", lambda: s3.put_bucket_acl(Bucket="acl-blocked", ACL="public-read-write"))
    call("block_mpu", lambda: s3.create_multipart_upload(Bucket="acl-blocked", Key="m.txt", ACL="public-read"))
    call("block_copy", lambda: s3.copy_object(Bucket="acl-blocked", Key="c.txt", CopySource="acl-blocked/pub.txt", ACL="public-read"))
    out["block_post"] = post_form("acl-blocked", presigned_post("acl-blocked", "posted.txt", "public-read"))
    call("block_private", lambda: status(s3.put_object(Bucket="acl-blocked", Key="p.txt", Body=b"x", ACL="private")))
    out["block_written"] = {k: exists("acl-blocked", k) for k in ["new.txt", "c.txt", "posted.txt", "early.txt"]}
    call("block_pub_acl_kept", lambda: grants(s3.get_object_acl(Bucket="acl-blocked", Key="pub.txt")))
    call("block_bucket_acl_kept", lambda: grants(s3.get_bucket_acl(Bucket="acl-blocked")))
    # (BlockPublicAcls alone leaves the ACLs already set in force.)
    out["block_still_public"] = anon("GET", "/acl-blocked/pub.txt")
    s3.put_public_access_block(Bucket="acl-blocked", PublicAccessBlockConfiguration={"IgnorePublicAcls": True})
    out["ignore_get"] = anon("GET", "/acl-blocked/pub.txt")
    out["ignore_list"] = anon("GET", "/acl-blocked?list-type=2")
    s3.put_object(Bucket="acl-blocked", Key="auth.txt", Body=b"members", ACL="authenticated-read")
    call("ignore_reader_get", lambda: reader().get_object(Bucket="acl-blocked", Key="auth.txt")["Body"].read().decode())
    call("ignore_acl_shown", lambda: grants(s3.get_object_acl(Bucket="acl-blocked", Key="pub.txt")))
    s3.delete_public_access_block(Bucket="acl-blocked")
    out["unignored_get"] = anon("GET", "/acl-blocked/pub.txt")
    out["unignored_list"] = anon("GET", "/acl-blocked?list-type=2")

    # A bucket deleted and created again has no ACL left.
    s3.create_bucket(Bucket="acl-recreated", ACL="public-read-write")
    s3.delete_bucket(Bucket="acl-recreated")
    s3.create_bucket(Bucket="acl-recreated")
    call("recreated_acl", lambda: grants(s3.get_bucket_acl(Bucket="acl-recreated")))
    out["recreated_list"] = anon("GET", "/acl-recreated?list-type=2")
    out["recreated_put"] = anon("PUT", "/acl-recreated/x.txt", body=b"x")
    # Both a header and a body: refused.
    call("header_and_body", lambda: s3.put_bucket_acl(
        Bucket="acl-recreated", ACL="public-read", AccessControlPolicy={"Owner": owner, "Grants": [full, everyone]}
    ))
    call("missing_bucket_acl", lambda: s3.get_bucket_acl(Bucket="acl-no-such-bucket"))

    out["reads"] = public_reads()

if phase == "check":
    out["reads"] = public_reads()

s3lib.emit(out)
