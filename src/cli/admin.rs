//! `strata admin …`: users, canned policies, groups and service accounts of a running server,
//! through its admin API (MinIO's, `/minio/admin/v3/`), with `mc admin`'s vocabulary. This
//! layer parses flags, reads secrets and files, and prints; the calls themselves (what is
//! sent, encrypted, signed; what an answer means) are `strata_adminclient`'s.
//!
//! Credentials come from the environment only (never the command line, where `ps` shows
//! them): `STRATA_ACCESS_KEY`/`STRATA_SECRET_KEY`, else `STRATA_ROOT_USER`/
//! `STRATA_ROOT_PASSWORD` (what `strata server` reads).

use super::table::Table;
use anyhow::{bail, Context, Result};
use serde_json::{json, Value};
use std::io::{BufRead, IsTerminal, Read, Write};
use std::time::{Duration, SystemTime};
use strata_adminclient::types::{
    AccountStatus, AddServiceAccountReq, GroupAddRemove, PolicyAssociationReq,
};
use strata_adminclient::{AdminClient, Call, Config, Error as AdminError, Secret};

#[derive(clap::Args)]
pub struct AdminArgs {
    /// The server's S3 endpoint (http only).
    #[arg(
        long,
        env = "STRATA_ENDPOINT",
        default_value = "http://127.0.0.1:9000",
        global = true
    )]
    pub endpoint: String,
    /// The SigV4 region the server expects.
    #[arg(long, default_value = "us-east-1", global = true)]
    pub region: String,
    /// Print JSON (for scripts) instead of tables and lines.
    #[arg(long, global = true)]
    pub json: bool,
    #[command(subcommand)]
    pub command: AdminCommand,
}

#[derive(clap::Subcommand)]
pub enum AdminCommand {
    /// Users: add, list, info, enable, disable, remove.
    #[command(subcommand)]
    User(UserCommand),
    /// Canned policies: create, list, info, remove; attach to and detach from users and groups.
    #[command(subcommand)]
    Policy(PolicyCommand),
    /// Groups of users: add members, remove members or the group, list, info, enable, disable.
    #[command(subcommand)]
    Group(GroupCommand),
    /// Service accounts (keys of a user, maybe narrowed by a policy): create, list, info,
    /// enable, disable, remove.
    #[command(subcommand)]
    Svcacct(SvcacctCommand),
}

#[derive(clap::Subcommand)]
pub enum UserCommand {
    /// Add a user (or set an existing user's secret key). The secret key is read from stdin
    /// when stdin is not a terminal; otherwise one is generated and printed once.
    Add {
        name: String,
        /// Read the secret key from stdin even from a terminal (first line).
        #[arg(long)]
        secret_stdin: bool,
    },
    /// List the users, their status, policies and groups.
    List,
    /// A user's status, policies and groups.
    Info { name: String },
    /// Let a user's keys sign requests again.
    Enable { name: String },
    /// Refuse every request signed by a user's keys (the user and its policies stay).
    Disable { name: String },
    /// Remove a user.
    Remove { name: String },
}

#[derive(clap::Subcommand)]
pub enum PolicyCommand {
    /// Create (or replace) a canned policy from an IAM policy document (`-`: stdin).
    Create { name: String, file: String },
    /// List the canned policies.
    List,
    /// Print a canned policy's document.
    Info { name: String },
    /// Remove a canned policy.
    Remove { name: String },
    /// Attach policies to a user or a group.
    Attach(Association),
    /// Detach policies from a user or a group.
    Detach(Association),
}

#[derive(clap::Args)]
pub struct Association {
    /// The policies.
    #[arg(required = true)]
    pub policies: Vec<String>,
    #[command(flatten)]
    pub target: Target,
}

#[derive(clap::Args)]
#[group(required = true, multiple = false)]
pub struct Target {
    #[arg(long)]
    pub user: Option<String>,
    #[arg(long)]
    pub group: Option<String>,
}

#[derive(clap::Subcommand)]
pub enum GroupCommand {
    /// Add users to a group (created if new).
    Add {
        group: String,
        #[arg(required = true)]
        members: Vec<String>,
    },
    /// Remove users from a group; with no users, remove the group (it must be empty).
    Remove { group: String, members: Vec<String> },
    /// List the groups.
    List,
    /// A group's status, policies and members.
    Info { group: String },
    /// Let the group's policies apply to its members again.
    Enable { group: String },
    /// Stop the group's policies applying to its members.
    Disable { group: String },
}

#[derive(clap::Subcommand)]
pub enum SvcacctCommand {
    /// Create a service account of a user; prints its access key and secret key (the only
    /// time the secret key is shown).
    Create {
        /// The parent user, whose permissions the account has (or fewer, with --policy).
        #[arg(long)]
        user: String,
        /// A policy document narrowing the parent's permissions (`-`: stdin).
        #[arg(long, value_name = "FILE")]
        policy: Option<String>,
        /// A short name for the account (a letter first; at most 32 characters).
        #[arg(long)]
        name: Option<String>,
        /// What the account is for (at most 256 bytes).
        #[arg(long)]
        description: Option<String>,
        /// When the account expires: an RFC 3339 time or a duration from now (30d, 12h).
        #[arg(long, value_name = "RFC3339|DURATION")]
        expiry: Option<String>,
    },
    /// List service accounts (of --user; the caller's own without it).
    List {
        #[arg(long)]
        user: Option<String>,
    },
    /// A service account's parent, status and policy.
    Info { key: String },
    /// Remove a service account.
    Remove { key: String },
    /// Let a service account sign requests again.
    Enable { key: String },
    /// Refuse every request signed by a service account.
    Disable { key: String },
}

/// The credentials to sign with, from the environment.
fn credentials(env: impl Fn(&str) -> Option<String>) -> Result<(String, Secret)> {
    let pair = |user: &str, secret: &str| match (env(user), env(secret)) {
        (Some(u), Some(s)) if !u.is_empty() && !s.is_empty() => Some((u, Secret::new(s))),
        _ => None,
    };
    if env("STRATA_ACCESS_KEY").is_some_and(|v| !v.is_empty()) {
        return pair("STRATA_ACCESS_KEY", "STRATA_SECRET_KEY")
            .context("STRATA_ACCESS_KEY is set but STRATA_SECRET_KEY is not");
    }
    pair("STRATA_ROOT_USER", "STRATA_ROOT_PASSWORD").context(
        "no credentials: set STRATA_ACCESS_KEY and STRATA_SECRET_KEY (or STRATA_ROOT_USER and STRATA_ROOT_PASSWORD)",
    )
}

pub fn run(args: AdminArgs) -> Result<()> {
    let (access_key, secret_key) = credentials(|k| std::env::var(k).ok())?;
    let client = AdminClient::new(Config {
        endpoint: args.endpoint.clone(),
        access_key,
        secret_key,
        region: args.region.clone(),
    })
    .map_err(|e| anyhow::anyhow!("--endpoint: {e}"))?;
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .context("starting the async runtime")?;
    let mut out = std::io::stdout().lock();
    rt.block_on(dispatch(client, args.command, args.json, &mut out))
}

/// Adds what the user can do about an error to the library's message.
fn explain(e: AdminError) -> anyhow::Error {
    if e.is_bad_credentials() {
        return anyhow::anyhow!(
            "{e} — the server refused the credentials: check STRATA_ACCESS_KEY/STRATA_SECRET_KEY (or STRATA_ROOT_USER/STRATA_ROOT_PASSWORD)"
        );
    }
    anyhow::Error::new(e)
}

/// What a successful change prints: a line, or with `--json` a status object.
fn done(out: &mut dyn Write, json: bool, text: String, fields: Value) -> Result<()> {
    if json {
        let mut v = json!({"status": "success"});
        if let (Some(obj), Value::Object(more)) = (v.as_object_mut(), fields) {
            obj.extend(more);
        }
        writeln!(out, "{v}")?;
    } else {
        writeln!(out, "{text}")?;
    }
    Ok(())
}

fn print_json(out: &mut dyn Write, v: &impl serde::Serialize) -> Result<()> {
    writeln!(out, "{}", serde_json::to_string(v)?)?;
    Ok(())
}

async fn dispatch(
    mut c: AdminClient,
    command: AdminCommand,
    json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    match command {
        AdminCommand::User(cmd) => user(&mut c, cmd, json, out).await,
        AdminCommand::Policy(cmd) => policy(&mut c, cmd, json, out).await,
        AdminCommand::Group(cmd) => group(&mut c, cmd, json, out).await,
        AdminCommand::Svcacct(cmd) => svcacct(&mut c, cmd, json, out).await,
    }
}

/// The secret key of `user add`: the first line of stdin when asked (`--secret-stdin`) or
/// when stdin is not a terminal; `None` (generate one) from a terminal, or when stdin is
/// empty and the flag was not given.
fn secret_from(stdin: &mut dyn BufRead, is_terminal: bool, flag: bool) -> Result<Option<Secret>> {
    if is_terminal && !flag {
        return Ok(None);
    }
    let mut line = String::new();
    stdin
        .read_line(&mut line)
        .context("reading the secret key from stdin")?;
    let secret = line.trim_end_matches(['\n', '\r']);
    if secret.is_empty() {
        if flag {
            bail!("--secret-stdin: no secret key on stdin");
        }
        return Ok(None);
    }
    Ok(Some(Secret::new(secret)))
}

/// A document from a file, or stdin for `-`.
fn read_document(file: &str) -> Result<Vec<u8>> {
    if file == "-" {
        let mut buf = Vec::new();
        std::io::stdin()
            .read_to_end(&mut buf)
            .context("reading the policy from stdin")?;
        return Ok(buf);
    }
    std::fs::read(file).with_context(|| format!("reading {file}"))
}

async fn set_user_status(
    c: &mut AdminClient,
    name: &str,
    status: AccountStatus,
    json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    c.call(&Call::set_user_status(name, status))
        .await
        .map_err(explain)?;
    let text = format!("User {name} is {}.", status.as_str());
    done(
        out,
        json,
        text,
        json!({"accessKey": name, "userStatus": status}),
    )
}

async fn user(
    c: &mut AdminClient,
    cmd: UserCommand,
    json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    match cmd {
        UserCommand::Add { name, secret_stdin } => {
            let stdin = std::io::stdin();
            let terminal = stdin.is_terminal();
            if terminal && secret_stdin {
                eprint!("Secret key for {name}: ");
            }
            let given = secret_from(&mut stdin.lock(), terminal, secret_stdin)?;
            let generated = given.is_none();
            let secret = match given {
                Some(s) => s,
                None => Secret::generate()?,
            };
            c.call(&Call::add_user(&name, &secret)?)
                .await
                .map_err(explain)?;
            if json {
                let mut v = json!({"status": "success", "accessKey": name});
                if generated {
                    v["secretKey"] = json!(secret.expose());
                }
                return print_json(out, &v);
            }
            writeln!(out, "Added user {name}.")?;
            if generated {
                writeln!(out, "Secret key: {}", secret.expose())?;
                writeln!(out, "(generated; shown only this once)")?;
            }
            Ok(())
        }
        UserCommand::List => {
            let users = c.list_users().await.map_err(explain)?;
            if json {
                return print_json(out, &users);
            }
            let mut t = Table::new(&["ACCESS KEY", "STATUS", "POLICIES", "GROUPS"]);
            for (name, u) in &users {
                t.row(vec![
                    name.clone(),
                    u.status.as_str().into(),
                    u.policy_name.clone().unwrap_or_default(),
                    u.member_of.join(","),
                ]);
            }
            write!(out, "{}", t.render())?;
            Ok(())
        }
        UserCommand::Info { name } => {
            let u = c.user_info(&name).await.map_err(explain)?;
            if json {
                return print_json(out, &u);
            }
            writeln!(out, "Access key: {name}")?;
            writeln!(out, "Status:     {}", u.status.as_str())?;
            writeln!(
                out,
                "Policies:   {}",
                u.policy_name.as_deref().unwrap_or("")
            )?;
            writeln!(out, "Groups:     {}", u.member_of.join(","))?;
            Ok(())
        }
        UserCommand::Enable { name } => {
            set_user_status(c, &name, AccountStatus::Enabled, json, out).await
        }
        UserCommand::Disable { name } => {
            set_user_status(c, &name, AccountStatus::Disabled, json, out).await
        }
        UserCommand::Remove { name } => {
            c.call(&Call::remove_user(&name)).await.map_err(explain)?;
            done(
                out,
                json,
                format!("Removed user {name}."),
                json!({"accessKey": name}),
            )
        }
    }
}

fn association(a: Association) -> (PolicyAssociationReq, String) {
    let whom = match (&a.target.user, &a.target.group) {
        (Some(u), _) => format!("user {u}"),
        (_, Some(g)) => format!("group {g}"),
        _ => String::new(),
    };
    (
        PolicyAssociationReq {
            policies: a.policies,
            user: a.target.user,
            group: a.target.group,
            config_name: None,
        },
        whom,
    )
}

async fn policy(
    c: &mut AdminClient,
    cmd: PolicyCommand,
    json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    match cmd {
        PolicyCommand::Create { name, file } => {
            let doc = read_document(&file)?;
            c.call(&Call::add_policy(&name, &doc)?)
                .await
                .map_err(explain)?;
            done(
                out,
                json,
                format!("Created policy {name}."),
                json!({"policy": name}),
            )
        }
        PolicyCommand::List => {
            let all = c.list_policies().await.map_err(explain)?;
            if json {
                return print_json(out, &all);
            }
            for name in all.keys() {
                writeln!(out, "{name}")?;
            }
            Ok(())
        }
        PolicyCommand::Info { name } => {
            let doc = c.policy_info(&name).await.map_err(explain)?;
            if json {
                return print_json(out, &doc);
            }
            writeln!(out, "{}", serde_json::to_string_pretty(&doc)?)?;
            Ok(())
        }
        PolicyCommand::Remove { name } => {
            c.call(&Call::remove_policy(&name)).await.map_err(explain)?;
            done(
                out,
                json,
                format!("Removed policy {name}."),
                json!({"policy": name}),
            )
        }
        PolicyCommand::Attach(a) => {
            let (req, whom) = association(a);
            let r = c
                .associate(&Call::attach_policies(&req)?)
                .await
                .map_err(explain)?;
            if json {
                return print_json(out, &r);
            }
            writeln!(
                out,
                "Attached {} to {whom}.",
                r.policies_attached.join(", ")
            )?;
            Ok(())
        }
        PolicyCommand::Detach(a) => {
            let (req, whom) = association(a);
            let r = c
                .associate(&Call::detach_policies(&req)?)
                .await
                .map_err(explain)?;
            if json {
                return print_json(out, &r);
            }
            writeln!(
                out,
                "Detached {} from {whom}.",
                r.policies_detached.join(", ")
            )?;
            Ok(())
        }
    }
}

async fn set_group_status(
    c: &mut AdminClient,
    group: &str,
    status: AccountStatus,
    json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    c.call(&Call::set_group_status(group, status))
        .await
        .map_err(explain)?;
    let text = format!("Group {group} is {}.", status.as_str());
    done(
        out,
        json,
        text,
        json!({"group": group, "groupStatus": status}),
    )
}

async fn group(
    c: &mut AdminClient,
    cmd: GroupCommand,
    json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    match cmd {
        GroupCommand::Add { group, members } => {
            let req = GroupAddRemove {
                group: group.clone(),
                members: members.clone(),
                status: None,
                is_remove: false,
            };
            c.call(&Call::update_group_members(&req)?)
                .await
                .map_err(explain)?;
            let text = format!("Added {} to group {group}.", members.join(", "));
            done(out, json, text, json!({"group": group, "members": members}))
        }
        GroupCommand::Remove { group, members } => {
            let req = GroupAddRemove {
                group: group.clone(),
                members: members.clone(),
                status: None,
                is_remove: true,
            };
            c.call(&Call::update_group_members(&req)?)
                .await
                .map_err(explain)?;
            let text = if members.is_empty() {
                format!("Removed group {group}.")
            } else {
                format!("Removed {} from group {group}.", members.join(", "))
            };
            done(out, json, text, json!({"group": group, "members": members}))
        }
        GroupCommand::List => {
            let groups = c.list_groups().await.map_err(explain)?;
            if json {
                return print_json(out, &groups);
            }
            for g in groups {
                writeln!(out, "{g}")?;
            }
            Ok(())
        }
        GroupCommand::Info { group } => {
            let g = c.group_info(&group).await.map_err(explain)?;
            if json {
                return print_json(out, &g);
            }
            writeln!(out, "Group:    {}", g.name)?;
            writeln!(out, "Status:   {}", g.status)?;
            writeln!(out, "Policies: {}", g.policy)?;
            writeln!(out, "Members:  {}", g.members.join(","))?;
            Ok(())
        }
        GroupCommand::Enable { group } => {
            set_group_status(c, &group, AccountStatus::Enabled, json, out).await
        }
        GroupCommand::Disable { group } => {
            set_group_status(c, &group, AccountStatus::Disabled, json, out).await
        }
    }
}

/// `--expiry`: an RFC 3339 time, or a duration from `now`; as RFC 3339 (UTC, seconds).
fn expiry(text: &str, now: SystemTime) -> Result<String> {
    let at = match humantime::parse_rfc3339_weak(text) {
        Ok(t) => t,
        Err(_) => {
            let d: Duration = humantime::parse_duration(text).with_context(|| {
                format!("--expiry {text:?}: give an RFC 3339 time (2030-01-01T00:00:00Z) or a duration (30d, 12h)")
            })?;
            now + d
        }
    };
    if at <= now {
        bail!("--expiry {text:?} is in the past");
    }
    Ok(humantime::format_rfc3339_seconds(at).to_string())
}

/// `on`/`off` as MinIO stores a service account's status, in the words of the other commands.
fn account_status_word(status: &str) -> &str {
    match status {
        "on" => "enabled",
        "off" => "disabled",
        other => other,
    }
}

async fn set_svcacct_status(
    c: &mut AdminClient,
    key: &str,
    status: AccountStatus,
    json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    c.call(&Call::set_service_account_status(key, status)?)
        .await
        .map_err(explain)?;
    let text = format!("Service account {key} is {}.", status.as_str());
    done(
        out,
        json,
        text,
        json!({"accessKey": key, "accountStatus": status}),
    )
}

async fn svcacct(
    c: &mut AdminClient,
    cmd: SvcacctCommand,
    json: bool,
    out: &mut dyn Write,
) -> Result<()> {
    match cmd {
        SvcacctCommand::Create {
            user,
            policy,
            name,
            description,
            expiry: exp,
        } => {
            let policy = match policy {
                Some(file) => {
                    let doc = read_document(&file)?;
                    Some(
                        serde_json::from_slice::<Value>(&doc)
                            .with_context(|| format!("--policy {file}: not JSON"))?,
                    )
                }
                None => None,
            };
            let expiration = exp.map(|e| expiry(&e, SystemTime::now())).transpose()?;
            let req = AddServiceAccountReq {
                policy,
                target_user: Some(user),
                name,
                description,
                expiration,
                ..Default::default()
            };
            let r = c
                .add_service_account(&Call::add_service_account(&req)?)
                .await
                .map_err(explain)?;
            let creds = r.credentials;
            if json {
                let mut v = json!({
                    "status": "success",
                    "accessKey": creds.access_key,
                    "secretKey": creds.secret_key,
                });
                if let Some(e) = &creds.expiration {
                    v["expiration"] = json!(e);
                }
                return print_json(out, &v);
            }
            writeln!(out, "Access key: {}", creds.access_key)?;
            writeln!(out, "Secret key: {}", creds.secret_key)?;
            if let Some(e) = creds.expiration.as_deref().filter(|e| !e.is_empty()) {
                writeln!(out, "Expires:    {e}")?;
            }
            writeln!(out, "(the secret key is shown only this once)")?;
            Ok(())
        }
        SvcacctCommand::List { user } => {
            let r = c
                .list_service_accounts(user.as_deref())
                .await
                .map_err(explain)?;
            if json {
                return print_json(out, &r);
            }
            let mut t = Table::new(&["ACCESS KEY", "PARENT", "STATUS", "NAME", "EXPIRES"]);
            for a in &r.accounts {
                t.row(vec![
                    a.access_key.clone(),
                    a.parent_user.clone(),
                    account_status_word(&a.account_status).into(),
                    a.name.clone().unwrap_or_default(),
                    a.expiration.clone().unwrap_or_default(),
                ]);
            }
            write!(out, "{}", t.render())?;
            Ok(())
        }
        SvcacctCommand::Info { key } => {
            let r = c.service_account_info(&key).await.map_err(explain)?;
            if json {
                return print_json(out, &r);
            }
            writeln!(out, "Access key:  {key}")?;
            writeln!(out, "Parent:      {}", r.parent_user)?;
            writeln!(
                out,
                "Status:      {}",
                account_status_word(&r.account_status)
            )?;
            writeln!(out, "Name:        {}", r.name.as_deref().unwrap_or(""))?;
            writeln!(
                out,
                "Description: {}",
                r.description.as_deref().unwrap_or("")
            )?;
            writeln!(
                out,
                "Expires:     {}",
                r.expiration.as_deref().unwrap_or("never")
            )?;
            if r.implied_policy {
                writeln!(out, "Policy:      the parent's")?;
            } else {
                let doc: Value = serde_json::from_str(&r.policy).unwrap_or(Value::String(r.policy));
                writeln!(out, "Policy:\n{}", serde_json::to_string_pretty(&doc)?)?;
            }
            Ok(())
        }
        SvcacctCommand::Remove { key } => {
            c.call(&Call::remove_service_account(&key))
                .await
                .map_err(explain)?;
            done(
                out,
                json,
                format!("Removed service account {key}."),
                json!({"accessKey": key}),
            )
        }
        SvcacctCommand::Enable { key } => {
            set_svcacct_status(c, &key, AccountStatus::Enabled, json, out).await
        }
        SvcacctCommand::Disable { key } => {
            set_svcacct_status(c, &key, AccountStatus::Disabled, json, out).await
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    fn env(vars: &[(&str, &str)]) -> impl Fn(&str) -> Option<String> {
        let map: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        move |k| map.get(k).cloned()
    }

    #[test]
    fn credentials_prefer_the_access_key_and_fall_back_to_root() {
        let (u, s) = credentials(env(&[
            ("STRATA_ACCESS_KEY", "alice"),
            ("STRATA_SECRET_KEY", "alice-secret"),
            ("STRATA_ROOT_USER", "root"),
            ("STRATA_ROOT_PASSWORD", "root-secret"),
        ]))
        .unwrap();
        assert_eq!((u.as_str(), s.expose()), ("alice", "alice-secret"));
        let (u, s) = credentials(env(&[
            ("STRATA_ROOT_USER", "root"),
            ("STRATA_ROOT_PASSWORD", "root-secret"),
        ]))
        .unwrap();
        assert_eq!((u.as_str(), s.expose()), ("root", "root-secret"));
        // A half-given pair is an error, not a silent fall-back to root.
        let e = credentials(env(&[
            ("STRATA_ACCESS_KEY", "alice"),
            ("STRATA_ROOT_USER", "root"),
            ("STRATA_ROOT_PASSWORD", "root-secret"),
        ]))
        .unwrap_err();
        assert!(e.to_string().contains("STRATA_SECRET_KEY"), "{e}");
        let e = credentials(env(&[])).unwrap_err();
        assert!(e.to_string().contains("STRATA_ROOT_PASSWORD"), "{e}");
    }

    #[test]
    fn the_secret_comes_from_stdin_unless_it_is_a_terminal() {
        let read = |input: &str, terminal, flag| {
            secret_from(&mut input.as_bytes(), terminal, flag)
                .map(|s| s.map(|s| s.expose().to_string()))
        };
        assert_eq!(
            read("s3cret-key\n", false, false).unwrap().as_deref(),
            Some("s3cret-key")
        );
        assert_eq!(
            read("s3cret-key\r\nmore\n", false, true)
                .unwrap()
                .as_deref(),
            Some("s3cret-key")
        );
        assert_eq!(
            read("s3cret-key\n", true, true).unwrap().as_deref(),
            Some("s3cret-key")
        );
        // A terminal without the flag, or empty stdin: generated.
        assert_eq!(read("ignored\n", true, false).unwrap(), None);
        assert_eq!(read("", false, false).unwrap(), None);
        // Asked for, but nothing there: an error.
        assert!(read("", false, true).is_err());
        assert!(read("\n", false, true).is_err());
    }

    #[test]
    fn expiry_takes_a_time_or_a_duration() {
        let now = humantime::parse_rfc3339("2026-01-01T00:00:00Z").unwrap();
        assert_eq!(expiry("30d", now).unwrap(), "2026-01-31T00:00:00Z");
        assert_eq!(expiry("1h 30m", now).unwrap(), "2026-01-01T01:30:00Z");
        assert_eq!(
            expiry("2030-06-01T12:00:00Z", now).unwrap(),
            "2030-06-01T12:00:00Z"
        );
        assert!(expiry("2020-01-01T00:00:00Z", now).is_err());
        assert!(expiry("tomorrow", now).is_err());
    }

    /// The flags parse into the commands (and the wrong ones do not), without a server.
    #[test]
    fn flags_parse() {
        use clap::Parser;
        #[derive(clap::Parser)]
        struct Cli {
            #[command(flatten)]
            admin: AdminArgs,
        }
        let parse = |args: &[&str]| {
            Cli::try_parse_from(std::iter::once("admin").chain(args.iter().copied()))
        };
        let c = parse(&["policy", "attach", "a", "b", "--user", "alice", "--json"]).unwrap();
        assert!(c.admin.json);
        let AdminCommand::Policy(PolicyCommand::Attach(a)) = c.admin.command else {
            panic!("not attach")
        };
        let (req, whom) = association(a);
        assert_eq!(req.policies, ["a", "b"]);
        assert_eq!(req.user.as_deref(), Some("alice"));
        assert_eq!(whom, "user alice");
        // Exactly one of --user and --group.
        assert!(parse(&["policy", "attach", "a"]).is_err());
        assert!(parse(&["policy", "attach", "a", "--user", "u", "--group", "g"]).is_err());
        assert!(parse(&["policy", "attach", "--user", "u"]).is_err());
        // No secret on the command line.
        assert!(parse(&["user", "add", "bob", "bob-secret"]).is_err());
        assert!(parse(&["group", "add", "devs"]).is_err());
        let c = parse(&["--endpoint", "http://h:1", "group", "remove", "devs"]).unwrap();
        assert_eq!(c.admin.endpoint, "http://h:1");
        assert!(parse(&["svcacct", "create"]).is_err());
        assert!(parse(&["svcacct", "create", "--user", "alice", "--expiry", "1d"]).is_ok());
    }
}
