use super::*;
use crate::access::PublicAccessBlock;
use s3s::dto::Owner;

fn group(uri: &str, permission: &'static str) -> s3s::dto::Grant {
    s3s::dto::Grant {
        grantee: Some(Grantee {
            display_name: None,
            email_address: None,
            id: None,
            type_: Type::from_static(Type::GROUP),
            uri: Some(uri.to_string()),
        }),
        permission: Some(DtoPermission::from_static(permission)),
    }
}

fn user(id: &str, permission: &'static str) -> s3s::dto::Grant {
    s3s::dto::Grant {
        grantee: Some(Grantee {
            display_name: None,
            email_address: None,
            id: Some(id.to_string()),
            type_: Type::from_static(Type::CANONICAL_USER),
            uri: None,
        }),
        permission: Some(DtoPermission::from_static(permission)),
    }
}

fn owner_id() -> String {
    crate::owner().id.unwrap()
}

fn policy(grants: Vec<s3s::dto::Grant>) -> AccessControlPolicy {
    AccessControlPolicy {
        grants: Some(grants),
        owner: Some(Owner {
            display_name: None,
            id: Some(owner_id()),
        }),
    }
}

const ALL: [Canned; 4] = [
    Canned::Private,
    Canned::PublicRead,
    Canned::PublicReadWrite,
    Canned::AuthenticatedRead,
];

#[test]
fn canned_names_map_to_what_they_grant() {
    for c in ALL {
        assert_eq!(Canned::parse(c.as_str()), Ok(c));
    }
    assert_eq!(Canned::parse(" private "), Ok(Canned::Private));
    // S3's other canned ACLs grant to AWS services or to another account: not kept here.
    for owner in ["bucket-owner-read", "bucket-owner-full-control"] {
        assert_eq!(Canned::parse(owner), Ok(Canned::Private), "{owner}");
    }
    for unsupported in ["aws-exec-read", "log-delivery-write"] {
        let e = Canned::parse(unsupported).unwrap_err();
        assert_eq!(
            e.to_s3().code(),
            &S3ErrorCode::NotImplemented,
            "{unsupported}"
        );
    }
    for unknown in ["Public-Read", "public", ""] {
        let e = Canned::parse(unknown).unwrap_err();
        assert_eq!(e.to_s3().code(), &S3ErrorCode::InvalidArgument, "{unknown}");
    }
    assert!(!Canned::Private.is_public());
    assert!(Canned::AuthenticatedRead.is_public());
}

#[test]
fn grants_follow_the_groups() {
    use Permission::*;
    use Requester::*;
    let table = [
        (Canned::Private, Anonymous, Read, false),
        (Canned::Private, Authenticated, Read, false),
        (Canned::PublicRead, Anonymous, Read, true),
        (Canned::PublicRead, Authenticated, Read, true),
        (Canned::PublicRead, Anonymous, Write, false),
        (Canned::PublicReadWrite, Anonymous, Write, true),
        (Canned::PublicReadWrite, Authenticated, Write, true),
        (Canned::AuthenticatedRead, Anonymous, Read, false),
        (Canned::AuthenticatedRead, Authenticated, Read, true),
        (Canned::AuthenticatedRead, Authenticated, Write, false),
    ];
    for (c, who, p, allowed) in table {
        assert_eq!(c.allows(who, p), allowed, "{c:?} {who:?} {p:?}");
    }
}

#[test]
fn acl_permissions_map_to_s3s_table_of_actions() {
    // A bucket's READ is its listing; its objects' reads follow their own ACLs (S3's table).
    for a in [
        "s3:ListBucket",
        "s3:ListBucketVersions",
        "s3:ListBucketMultipartUploads",
    ] {
        assert_eq!(bucket_permission(a), Some(Permission::Read), "{a}");
    }
    for a in ["s3:PutObject", "s3:DeleteObject", "s3:AbortMultipartUpload"] {
        assert_eq!(bucket_permission(a), Some(Permission::Write), "{a}");
    }
    for a in [
        "s3:GetObject",
        "s3:GetObjectVersion",
        "s3:GetObjectAcl",
        "s3:GetObjectTagging",
        "s3:PutBucketAcl",
        "s3:GetBucketAcl",
        "s3:PutObjectAcl",
        "s3:DeleteBucket",
        "s3:PutBucketPolicy",
        "s3:DeleteObjectVersion",
    ] {
        assert_eq!(bucket_permission(a), None, "{a}");
    }
    assert!(is_object_read("s3:GetObject") && is_object_read("s3:GetObjectVersion"));
    assert!(!is_object_read("s3:GetObjectAcl") && !is_object_read("s3:GetObjectAttributes"));
}

#[test]
fn stored_form_round_trips_and_fails_closed() {
    for c in ALL {
        assert_eq!(Canned::from_stored(c.stored().as_deref()), c);
    }
    assert_eq!(Canned::Private.stored(), None);
    assert_eq!(Canned::from_stored(Some("garbage")), Canned::Private);
    assert_eq!(Canned::from_stored(Some("aws-exec-read")), Canned::Private);
}

#[test]
fn answered_grants_read_back_as_the_same_acl() {
    for c in ALL {
        let grants = c.to_grants();
        assert_eq!(grants.len(), 1 + c.group_grants().len());
        let first = grants[0].grantee.as_ref().unwrap();
        assert_eq!(first.type_.as_str(), Type::CANONICAL_USER);
        assert_eq!(first.id.as_deref(), Some(owner_id().as_str()));
        assert_eq!(
            grants[0].permission.as_ref().unwrap().as_str(),
            "FULL_CONTROL"
        );
        assert_eq!(Canned::from_policy(&policy(grants)), Ok(c), "{c:?}");
    }
    let public = Canned::PublicReadWrite.to_grants();
    let uris: Vec<_> = public[1..]
        .iter()
        .map(|g| {
            (
                g.grantee.as_ref().unwrap().uri.clone().unwrap(),
                g.permission.as_ref().unwrap().as_str().to_string(),
            )
        })
        .collect();
    assert_eq!(
        uris,
        [
            (ALL_USERS.to_string(), "READ".to_string()),
            (ALL_USERS.to_string(), "WRITE".to_string())
        ]
    );
}

#[test]
fn only_canned_sets_are_taken_from_a_body() {
    let me = owner_id();
    let full = || user(&me, "FULL_CONTROL");
    // Order and repeats do not matter.
    let p = policy(vec![
        group(ALL_USERS, "WRITE"),
        full(),
        group(ALL_USERS, "READ"),
        group(ALL_USERS, "READ"),
    ]);
    assert_eq!(Canned::from_policy(&p), Ok(Canned::PublicReadWrite));
    let p = policy(vec![full(), group(AUTHENTICATED_USERS, "READ")]);
    assert_eq!(Canned::from_policy(&p), Ok(Canned::AuthenticatedRead));
    let refused = [
        // No owner grant, or the owner with less than FULL_CONTROL.
        vec![group(ALL_USERS, "READ")],
        vec![user(&me, "READ")],
        // Sets that are not canned.
        vec![full(), group(ALL_USERS, "WRITE")],
        vec![full(), group(AUTHENTICATED_USERS, "WRITE")],
        vec![
            full(),
            group(ALL_USERS, "READ"),
            group(AUTHENTICATED_USERS, "READ"),
        ],
        vec![full(), group(ALL_USERS, "READ_ACP")],
        vec![full(), group(ALL_USERS, "FULL_CONTROL")],
        // Other grantees.
        vec![
            full(),
            group("http://acs.amazonaws.com/groups/s3/LogDelivery", "WRITE"),
        ],
        vec![full(), user("someone-else", "READ")],
        vec![full(), user("someone-else", "FULL_CONTROL")],
        vec![
            full(),
            s3s::dto::Grant {
                grantee: Some(Grantee {
                    display_name: None,
                    email_address: Some("a@example.com".into()),
                    id: None,
                    type_: Type::from_static(Type::AMAZON_CUSTOMER_BY_EMAIL),
                    uri: None,
                }),
                permission: Some(DtoPermission::from_static("READ")),
            },
        ],
        vec![
            full(),
            s3s::dto::Grant {
                grantee: None,
                permission: Some(DtoPermission::from_static("READ")),
            },
        ],
    ];
    for grants in refused {
        let shown = format!("{grants:?}");
        let e = Canned::from_policy(&policy(grants)).unwrap_err();
        assert_eq!(e.to_s3().code(), &S3ErrorCode::NotImplemented, "{shown}");
    }
    // Another owner.
    let mut p = policy(vec![full()]);
    p.owner = Some(Owner {
        display_name: None,
        id: Some("another".into()),
    });
    assert!(Canned::from_policy(&p).is_err());
}

fn bucket(acl: Canned, block: Option<PublicAccessBlock>) -> BucketAccess {
    BucketAccess {
        acl: acl.is_public().then_some(acl),
        block,
        ..Default::default()
    }
}

#[test]
fn weighing_follows_aws_order() {
    use Decision::*;
    use Requester::*;
    let open = bucket(Canned::PublicReadWrite, None);
    let anon = Some(Anonymous);
    // An Allow grants whatever the ACLs say; an explicit Deny beats the most open ACL.
    let private = bucket(Canned::Private, None);
    assert_eq!(
        weigh(Allow, anon, Some(&private), "s3:PutBucketAcl"),
        Ok(Permit::Granted)
    );
    for action in ["s3:GetObject", "s3:PutObject", "s3:ListBucket"] {
        assert_eq!(
            weigh(ExplicitDeny, anon, Some(&open), action),
            Err(Refusal::AccessDenied),
            "{action}"
        );
        // The bucket grants its listing and writes; a read is left to the object's ACL.
        let expected = if action == "s3:GetObject" {
            Permit::IfObjectAcl(Requester::Anonymous)
        } else {
            Permit::Granted
        };
        assert_eq!(
            weigh(ImplicitDeny, anon, Some(&open), action),
            Ok(expected),
            "{action}"
        );
        // A key whose session policy does not allow the action, or no bucket: nothing.
        assert_eq!(
            weigh(ImplicitDeny, None, Some(&open), action),
            Err(Refusal::AccessDenied)
        );
        assert_eq!(
            weigh(ImplicitDeny, anon, None, action),
            Err(Refusal::AccessDenied)
        );
    }
    // What no canned ACL grants: the ACLs themselves, the bucket's configuration.
    for action in [
        "s3:PutObjectAcl",
        "s3:PutBucketAcl",
        "s3:DeleteBucket",
        "s3:GetBucketAcl",
    ] {
        assert_eq!(
            weigh(ImplicitDeny, anon, Some(&open), action),
            Err(Refusal::AccessDenied),
            "{action}"
        );
    }
}

#[test]
fn bucket_acls_grant_their_groups_only() {
    use Decision::ImplicitDeny;
    use Requester::*;
    let table = [
        (Canned::PublicRead, Anonymous, "s3:GetObject", false),
        (Canned::PublicRead, Anonymous, "s3:ListBucket", true),
        (Canned::PublicRead, Anonymous, "s3:PutObject", false),
        (Canned::PublicRead, Authenticated, "s3:DeleteObject", false),
        (Canned::PublicReadWrite, Anonymous, "s3:PutObject", true),
        (Canned::PublicReadWrite, Anonymous, "s3:DeleteObject", true),
        (
            Canned::AuthenticatedRead,
            Authenticated,
            "s3:GetObject",
            false,
        ),
        (
            Canned::AuthenticatedRead,
            Authenticated,
            "s3:ListBucket",
            true,
        ),
        (
            Canned::AuthenticatedRead,
            Authenticated,
            "s3:PutObject",
            false,
        ),
        (Canned::AuthenticatedRead, Anonymous, "s3:ListBucket", false),
        (Canned::Private, Authenticated, "s3:ListBucket", false),
    ];
    for (acl, who, action, granted) in table {
        let answer = weigh(ImplicitDeny, Some(who), Some(&bucket(acl, None)), action);
        assert_eq!(
            answer == Ok(Permit::Granted),
            granted,
            "{acl:?} {who:?} {action}: {answer:?}"
        );
    }
    // An object read is left to the object's ACL, whatever the bucket's.
    for acl in [
        Canned::PublicRead,
        Canned::AuthenticatedRead,
        Canned::Private,
    ] {
        assert_eq!(
            weigh(
                ImplicitDeny,
                Some(Anonymous),
                Some(&bucket(acl, None)),
                "s3:GetObject"
            ),
            Ok(Permit::IfObjectAcl(Anonymous)),
            "{acl:?}"
        );
    }
}

#[test]
fn ignore_public_acls_makes_every_acl_grant_nothing() {
    use Decision::*;
    let ignore = Some(PublicAccessBlock {
        ignore_public_acls: true,
        ..Default::default()
    });
    let block_only = Some(PublicAccessBlock {
        block_public_acls: true,
        ..Default::default()
    });
    let who = Some(Requester::Authenticated);
    let ignored = bucket(Canned::PublicReadWrite, ignore);
    for action in ["s3:GetObject", "s3:PutObject", "s3:ListBucket"] {
        assert_eq!(
            weigh(ImplicitDeny, who, Some(&ignored), action),
            Err(Refusal::AccessDenied),
            "{action}"
        );
        // A policy's Allow is not an ACL: it still grants.
        assert_eq!(
            weigh(Allow, who, Some(&ignored), action),
            Ok(Permit::Granted)
        );
    }
    // Not even an object's own ACL is asked.
    let private = bucket(Canned::Private, ignore);
    assert_eq!(
        weigh(ImplicitDeny, who, Some(&private), "s3:GetObject"),
        Err(Refusal::AccessDenied)
    );
    // BlockPublicAcls refuses new public ACLs only: those set still grant.
    let blocked = bucket(Canned::PublicRead, block_only);
    assert_eq!(
        weigh(ImplicitDeny, who, Some(&blocked), "s3:ListBucket"),
        Ok(Permit::Granted)
    );
}
