//! Each body round-trips a sample shaped as madmin-go writes it (field names from its
//! sources, values ours), and reads what minio-py's minioadmin.py sends.

use super::*;
use serde::de::DeserializeOwned;
use serde::Serialize;
use serde_json::{json, Value};
use std::fmt::Debug;

/// Reads `sample`, writes it back, and expects the same JSON (same fields, none added).
fn round_trip<T: Serialize + DeserializeOwned + Debug>(sample: Value) -> T {
    let parsed: T = serde_json::from_value(sample.clone()).expect("sample parses");
    let written = serde_json::to_value(&parsed).expect("serializes");
    assert_eq!(written, sample, "{parsed:?}");
    parsed
}

fn read<T: DeserializeOwned>(sample: Value) -> T {
    serde_json::from_value(sample).expect("sample parses")
}

fn policy() -> Value {
    json!({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["s3:GetObject"], "Resource": ["arn:aws:s3:::b/*"]}]
    })
}

#[test]
fn add_or_update_user_req() {
    // minio-py's user_add.
    let r: AddOrUpdateUserReq =
        round_trip(json!({"status": "enabled", "secretKey": "alice-secret-key"}));
    assert_eq!(r.status, Some(AccountStatus::Enabled));
    assert_eq!(r.secret_key.as_deref(), Some("alice-secret-key"));
    round_trip::<AddOrUpdateUserReq>(
        json!({"secretKey": "k", "policy": "readwrite,diagnostics", "status": "disabled"}),
    );
    // madmin's ChangeMyPassword leaves the status empty.
    let r: AddOrUpdateUserReq = read(json!({"secretKey": "new-secret", "status": ""}));
    assert_eq!(r.status, None);
    assert!(serde_json::from_value::<AddOrUpdateUserReq>(json!({"status": "on"})).is_err());
}

#[test]
fn user_info_and_list_users() {
    let u: UserInfo = round_trip(json!({
        "userAuthInfo": {"type": "builtin"},
        "policyName": "readwrite,diagnostics",
        "status": "enabled",
        "memberOf": ["devs", "ops"],
        "updatedAt": "2024-05-01T10:00:00.123456789Z"
    }));
    assert_eq!(u.member_of, ["devs", "ops"]);
    round_trip::<UserInfo>(json!({
        "userAuthInfo": {"type": "ldap", "authServer": "ldap.example", "authServerUserID": "uid=a"},
        "status": "disabled"
    }));
    let users: ListUsersResp = round_trip(json!({
        "alice": {"policyName": "readwrite", "status": "enabled", "updatedAt": "0001-01-01T00:00:00Z"},
        "bob": {"status": "disabled", "memberOf": ["devs"]}
    }));
    assert_eq!(users["bob"].status, AccountStatus::Disabled);
    let u: UserInfo = read(json!({"status": "enabled", "memberOf": null}));
    assert!(u.member_of.is_empty());
    assert_eq!(
        AccountStatus::parse("disabled"),
        Some(AccountStatus::Disabled)
    );
    assert_eq!(AccountStatus::Enabled.as_str(), "enabled");
}

#[test]
fn group_add_remove() {
    let g: GroupAddRemove = round_trip(json!({
        "group": "devs", "members": ["alice", "bob"], "groupStatus": "enabled", "isRemove": false
    }));
    assert_eq!(g.status, Some(GroupStatus::Enabled));
    // madmin-go with no members and no status.
    let g: GroupAddRemove =
        read(json!({"group": "devs", "members": null, "groupStatus": "", "isRemove": true}));
    assert_eq!((g.members.len(), g.status, g.is_remove), (0, None, true));
    // minio-py's group_add (members as one string) and group_remove (no members).
    let g: GroupAddRemove = read(json!({"group": "devs", "members": "alice", "isRemove": false}));
    assert_eq!(g.members, ["alice"]);
    let g: GroupAddRemove = read(json!({"group": "devs", "isRemove": true}));
    assert!(g.members.is_empty() && g.is_remove);
    let g: GroupAddRemove = read(json!({"group": "devs", "members": ["carol"], "isRemove": true}));
    assert_eq!(g.members, ["carol"]);
}

#[test]
fn group_desc_and_list() {
    round_trip::<GroupDesc>(json!({
        "name": "devs", "status": "enabled", "members": ["alice"], "policy": "readwrite",
        "updatedAt": "2024-05-01T10:00:00Z"
    }));
    let g: GroupDesc =
        read(json!({"name": "empty", "status": "disabled", "members": null, "policy": ""}));
    assert!(g.members.is_empty());
    round_trip::<ListGroupsResp>(json!(["devs", "ops"]));
}

#[test]
fn canned_policies() {
    let list: ListCannedPoliciesResp =
        round_trip(json!({"readonly": policy(), "custom": policy()}));
    assert_eq!(list.len(), 2);
    round_trip::<PolicyInfo>(json!({
        "PolicyName": "custom", "Policy": policy(),
        "CreateDate": "2024-05-01T10:00:00Z", "UpdateDate": "2024-05-02T10:00:00Z"
    }));
    // madmin leaves the dates out when both are zero.
    round_trip::<PolicyInfo>(json!({"PolicyName": "readonly", "Policy": policy()}));
}

#[test]
fn policy_association() {
    // minio-py's attach_policy / detach_policy.
    let r: PolicyAssociationReq = round_trip(json!({"policies": ["readwrite"], "user": "alice"}));
    assert_eq!(r.validate(), Ok(()));
    let r: PolicyAssociationReq = round_trip(json!({"policies": ["a", "b"], "group": "devs"}));
    assert_eq!(r.validate(), Ok(()));
    round_trip::<PolicyAssociationReq>(
        json!({"policies": ["a"], "user": "uid=a,dc=x", "configName": "corp"}),
    );
    let bad = [
        (
            json!({"policies": [], "user": "a"}),
            RequestError::NoPolicies,
        ),
        (
            json!({"policies": ["a", ""], "user": "a"}),
            RequestError::EmptyPolicyName,
        ),
        (json!({"policies": ["a"]}), RequestError::UserOrGroup),
        (
            json!({"policies": ["a"], "user": "a", "group": "g"}),
            RequestError::UserOrGroup,
        ),
    ];
    for (sample, want) in bad {
        assert_eq!(read::<PolicyAssociationReq>(sample).validate(), Err(want));
    }
    round_trip::<PolicyAssociationResp>(
        json!({"policiesAttached": ["readwrite"], "updatedAt": "2024-05-01T10:00:00Z"}),
    );
    let r: PolicyAssociationResp =
        read(json!({"policiesDetached": ["a", "b"], "updatedAt": "2024-05-01T10:00:00Z"}));
    assert_eq!(r.policies_detached, ["a", "b"]);
}

#[test]
fn policy_entities() {
    let r: PolicyEntitiesResult = round_trip(json!({
        "timestamp": "2024-05-01T10:00:00Z",
        "userMappings": [{
            "user": "alice", "policies": ["readwrite"],
            "memberOfMappings": [{"group": "devs", "policies": ["diagnostics"]}]
        }],
        "groupMappings": [{"group": "devs", "policies": ["diagnostics"]}],
        "policyMappings": [{"policy": "readwrite", "users": ["alice"], "groups": []}]
    }));
    assert_eq!(r.user_mappings[0].member_of_mappings[0].group, "devs");
    round_trip::<PolicyEntitiesResult>(json!({"timestamp": "2024-05-01T10:00:00Z"}));
    let r: PolicyEntitiesResult = read(json!({
        "timestamp": "2024-05-01T10:00:00Z",
        "policyMappings": [{"policy": "p", "users": null, "groups": null}]
    }));
    assert!(r.policy_mappings[0].users.is_empty());
}

#[test]
fn add_service_account() {
    // madmin-go's AddServiceAccount.
    let r: AddServiceAccountReq = round_trip(json!({
        "policy": policy(), "targetUser": "alice", "accessKey": "SVCACCESSKEY0001",
        "secretKey": "svc-secret-key-0001", "name": "ci", "description": "the CI's key",
        "expiration": "2030-01-01T00:00:00Z"
    }));
    assert_eq!(r.validate(), Ok(()));
    // minio-py's add_service_account, letting the server pick the keys.
    let r: AddServiceAccountReq = read(json!({
        "status": "enabled", "accessKey": null, "secretKey": null, "name": "ci",
        "description": "d", "policy": policy(), "expiration": "2030-01-01T00:00:00Z"
    }));
    assert_eq!((r.access_key, r.secret_key), (None, None));
    assert_eq!(r.status.as_deref(), Some("enabled"));
    assert_eq!(r.policy, Some(policy()));
    round_trip::<AddServiceAccountReq>(json!({}));

    let name = |n: &str| AddServiceAccountReq {
        name: Some(n.to_string()),
        ..Default::default()
    };
    assert_eq!(name("a-b_c9").validate(), Ok(()));
    // madmin's pattern only checks the first character.
    assert_eq!(name("a.b").validate(), Ok(()));
    assert_eq!(
        name("9ab").validate(),
        Err(RequestError::ServiceAccountName)
    );
    assert_eq!(
        name(&"a".repeat(33)).validate(),
        Err(RequestError::ServiceAccountName)
    );
    let long = AddServiceAccountReq {
        description: Some("d".repeat(257)),
        ..Default::default()
    };
    assert_eq!(
        long.validate(),
        Err(RequestError::ServiceAccountDescription)
    );

    let r: AddServiceAccountResp = round_trip(json!({
        "credentials": {"accessKey": "SVCACCESSKEY0001", "secretKey": "svc-secret-key-0001"}
    }));
    assert_eq!(r.credentials.access_key, "SVCACCESSKEY0001");
    // Go writes a zero expiration rather than leaving it out.
    round_trip::<AddServiceAccountResp>(json!({
        "credentials": {"accessKey": "A", "secretKey": "S", "expiration": "0001-01-01T00:00:00Z"}
    }));
    round_trip::<Credentials>(json!({
        "accessKey": "A", "secretKey": "S", "sessionToken": "T",
        "expiration": "2024-05-01T10:00:00Z"
    }));
}

#[test]
fn update_service_account() {
    // minio-py's update_service_account sends every field it is given.
    let r: UpdateServiceAccountReq = round_trip(json!({
        "newSecretKey": "new-secret-key", "newName": "ci2", "newDescription": "d2",
        "newPolicy": policy(), "newExpiration": "2031-01-01T00:00:00Z", "newStatus": "off"
    }));
    assert_eq!(r.validate(), Ok(()));
    let r: UpdateServiceAccountReq = round_trip(json!({"newStatus": "disabled"}));
    assert_eq!(r.new_status.as_deref(), Some("disabled"));
    let bad: UpdateServiceAccountReq = read(json!({"newName": "_x"}));
    assert_eq!(bad.validate(), Err(RequestError::ServiceAccountName));
}

#[test]
fn service_account_info_and_list() {
    let r: InfoServiceAccountResp = round_trip(json!({
        "parentUser": "alice", "accountStatus": "on", "impliedPolicy": true,
        "policy": "{\n \"Version\": \"2012-10-17\",\n \"Statement\": []\n}",
        "name": "ci", "description": "d", "expiration": "2030-01-01T00:00:00Z"
    }));
    assert!(r.implied_policy);
    round_trip::<InfoServiceAccountResp>(json!({
        "parentUser": "alice", "parentUserStatus": "enabled", "accountStatus": "off",
        "impliedPolicy": false, "policy": "{}"
    }));
    let l: ListServiceAccountsResp = round_trip(json!({"accounts": [
        {"parentUser": "alice", "accountStatus": "on", "impliedPolicy": false,
         "accessKey": "SVCACCESSKEY0001", "name": "ci", "expiration": "2030-01-01T00:00:00Z"},
        {"parentUser": "alice", "accountStatus": "off", "impliedPolicy": true,
         "accessKey": "SVCACCESSKEY0002"}
    ]}));
    assert_eq!(l.accounts.len(), 2);
    let l: ListServiceAccountsResp = read(json!({"accounts": null}));
    assert!(l.accounts.is_empty());
}

#[test]
fn bucket_quota() {
    // madmin-go's SetBucketQuota and MinIO's get-bucket-quota.
    let q: BucketQuota =
        round_trip(json!({"size": 1073741824u64, "rate": 0, "requests": 0, "quotatype": "hard"}));
    assert_eq!(q.limit(), 1 << 30);
    // minio-py's bucket_quota_set and bucket_quota_clear.
    let q: BucketQuota = read(json!({"quota": 5000, "quotatype": "hard"}));
    assert_eq!((q.limit(), q.quota_type), (5000, Some(QuotaType::Hard)));
    let q: BucketQuota = read(json!({"quota": 0, "quotatype": "hard"}));
    assert_eq!(q.limit(), 0);
    assert!(serde_json::from_value::<BucketQuota>(json!({"quotatype": "fifo"})).is_err());
}

#[test]
fn error_response() {
    let e: ErrorResponse = round_trip(json!({
        "Code": "XMinioAdminNoSuchUser", "Message": "The specified user does not exist.",
        "Resource": "/minio/admin/v3/user-info", "RequestId": "17C2F6A2D4E5F6A7",
        "HostId": "dd9025bab4ad464b049177c95eb6ebf374d3b3fd1af9251148b658df7ac2e3e8"
    }));
    assert_eq!(e.code, "XMinioAdminNoSuchUser");
    round_trip::<ErrorResponse>(json!({
        "Code": "NoSuchBucket", "Message": "m", "BucketName": "b", "Resource": "/r",
        "Region": "us-east-1", "RequestId": "1", "HostId": "2"
    }));
}

#[test]
fn info_message() {
    // What `mc admin info` reads: one server, two drives, one pool of one set.
    let info: InfoMessage = round_trip(json!({
        "mode": "online",
        "region": "us-east-1",
        "deploymentID": "8d1e1b8e-6b3a-4c5e-9f0a-1c2d3e4f5a6b",
        "buckets": {"count": 3},
        "objects": {"count": 120},
        "versions": {"count": 130},
        "deletemarkers": {"count": 0},
        "usage": {"size": 123456789},
        "services": {"kms": {}, "ldap": {}},
        "backend": {
            "backendType": "Erasure", "onlineDisks": 2, "offlineDisks": 0,
            "standardSCParity": 1, "rrSCParity": 1, "totalSets": [1], "totalDrivesPerSet": [2]
        },
        "servers": [{
            "state": "online", "endpoint": "strata-0.strata:9000", "scheme": "http",
            "uptime": 3600, "version": "0.1.0", "commitID": "abcdef0",
            "network": {"strata-0.strata:9000": "online"},
            "drives": [
                {"endpoint": "http://strata-0.strata:9000/data/d0", "path": "/data/d0",
                 "state": "ok", "uuid": "3b3c1f7e-0000-4000-8000-000000000001", "major": 8, "minor": 16,
                 "totalspace": 1000000000u64, "usedspace": 100000000u64, "availspace": 900000000u64,
                 "used_inodes": 120, "free_inodes": 1000000, "local": true,
                 "pool_index": 0, "set_index": 0, "disk_index": 0},
                {"endpoint": "http://strata-0.strata:9000/data/d1", "path": "/data/d1",
                 "state": "offline", "major": 0, "minor": 0, "used_inodes": 0,
                 "pool_index": -1, "set_index": -1, "disk_index": -1}
            ],
            "mem_stats": {"Alloc": 1, "TotalAlloc": 2, "Mallocs": 3, "Frees": 4, "HeapAlloc": 5},
            "num_cpu": 2
        }],
        "pools": {"0": {"0": {
            "id": 0, "rawUsage": 200, "rawCapacity": 2000000000u64, "usage": 100,
            "objectsCount": 120, "versionsCount": 130, "deleteMarkersCount": 0, "healDisks": 0
        }}}
    }));
    assert_eq!(info.servers[0].disks[1].pool_index, -1);
    assert_eq!(info.pools[&0][&0].objects_count, 120);
    // The structs Go always writes, and the kms/ldap it writes empty.
    round_trip::<InfoMessage>(json!({
        "buckets": {"count": 0}, "objects": {"count": 0}, "versions": {"count": 0},
        "deletemarkers": {"count": 0}, "usage": {"size": 0, "error": "not scanned yet"},
        "services": {"kms": {}, "ldap": {}, "kmsStatus": [{"status": "online", "endpoint": "https://kes"}],
                     "logger": [{"console": {"status": "online"}}],
                     "notifications": [{"webhook": [{"1": {"status": "offline"}}]}]},
        "backend": {"backendType": "Erasure", "onlineDisks": 0, "offlineDisks": 0,
                    "standardSCParity": 0, "rrSCParity": 0, "totalSets": [], "totalDrivesPerSet": []}
    }));
    let empty = serde_json::to_value(InfoMessage::default()).expect("serializes");
    assert_eq!(empty["backend"]["totalSets"], json!([]));
    let info: InfoMessage = read(json!({"backend": {"backendType": "FS", "totalSets": null}}));
    assert!(info.backend.total_sets.is_empty());
}

#[test]
fn data_usage_info() {
    let d: DataUsageInfo = round_trip(json!({
        "lastUpdate": "2024-05-01T10:00:00Z",
        "objectsCount": 120, "objectsTotalSize": 123456789,
        "objectsPendingReplicationTotalSize": 0, "objectsFailedReplicationTotalSize": 0,
        "objectsReplicatedTotalSize": 0, "objectsReplicaTotalSize": 0,
        "objectsPendingReplicationCount": 0, "objectsFailedReplicationCount": 0,
        "bucketsCount": 1,
        "bucketsUsageInfo": {"b": {
            "size": 123456789, "objectsPendingReplicationTotalSize": 0,
            "objectsFailedReplicationTotalSize": 0, "objectsReplicatedTotalSize": 0,
            "objectReplicaTotalSize": 0, "objectsPendingReplicationCount": 0,
            "objectsFailedReplicationCount": 0, "versionsCount": 130, "objectsCount": 120,
            "deleteMarkersCount": 0,
            "objectsSizesHistogram": {"LESS_THAN_1024_B": 100, "BETWEEN_1024_B_AND_1_MB": 20},
            "objectsVersionsHistogram": {"SINGLE_VERSION": 110, "BETWEEN_2_AND_10": 10}
        }},
        "tierStats": {"STANDARD": {"totalSize": 123456789, "numVersions": 130, "numObjects": 120}},
        "bucketsSizes": {"b": 123456789},
        "capacity": 2000000000u64, "freeCapacity": 1800000000u64, "usedCapacity": 200000000u64
    }));
    assert_eq!(
        d.buckets_usage["b"].object_sizes_histogram["LESS_THAN_1024_B"],
        100
    );
    let d: DataUsageInfo =
        read(json!({"bucketsUsageInfo": null, "tierStats": null, "bucketsSizes": null}));
    assert!(d.buckets_usage.is_empty() && d.last_update.is_none());
}

#[test]
fn account_info() {
    let a: AccountInfo = round_trip(json!({
        "AccountName": "alice",
        "Server": {
            "Type": 2, "GatewayOnline": false,
            "OnlineDisks": {"strata-0.strata:9000": 2}, "OfflineDisks": {"strata-0.strata:9000": 0},
            "StandardSCData": [1], "StandardSCParities": [1], "RRSCData": [1], "RRSCParities": [1],
            "TotalSets": [1], "DrivesPerSet": [2], "StandardSCParity": 1, "RRSCParity": 1
        },
        "Policy": policy(),
        "Buckets": [{
            "name": "b", "size": 123456789, "objects": 120, "versions": 130, "deleteMarkers": 0,
            "objectHistogram": {"LESS_THAN_1024_B": 100}, "objectsVersionsHistogram": {},
            "details": {
                "versioning": true, "versioningSuspended": false, "locking": false,
                "replication": false, "tags": null,
                "quota": {"size": 1073741824u64, "rate": 0, "requests": 0, "quotatype": "hard"}
            },
            "prefixUsage": {}, "created": "2024-05-01T10:00:00Z",
            "access": {"read": true, "write": false}
        }]
    }));
    assert_eq!(a.server.kind, BackendInfo::ERASURE);
    assert_eq!(
        a.buckets[0]
            .details
            .as_ref()
            .and_then(|d| d.quota.as_ref())
            .map(BucketQuota::limit),
        Some(1 << 30)
    );
    // Go's nil slices and maps, and a bucket without details.
    let a: AccountInfo = read(json!({
        "AccountName": "bob",
        "Server": {"Type": 2, "GatewayOnline": false, "OnlineDisks": null, "OfflineDisks": null,
                   "StandardSCData": null, "StandardSCParities": null, "RRSCData": null,
                   "RRSCParities": null, "TotalSets": null, "DrivesPerSet": null,
                   "StandardSCParity": 0, "RRSCParity": 0},
        "Policy": null,
        "Buckets": [{"name": "c", "size": 0, "objects": 0, "versions": 0, "deleteMarkers": 0,
                     "objectHistogram": null, "objectsVersionsHistogram": null, "details": null,
                     "prefixUsage": null, "created": "0001-01-01T00:00:00Z",
                     "access": {"read": true, "write": true}}]
    }));
    assert!(a.buckets[0].details.is_none() && a.server.total_sets.is_empty());
    let a: AccountInfo = read(json!({"AccountName": "carol", "Buckets": null}));
    assert!(a.buckets.is_empty());
}
