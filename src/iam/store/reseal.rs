//! New root credentials. The sealing key derives from the root credentials, so after they
//! change the stored secrets no longer open: the server is started once with the old ones
//! too, and every secret that opens only with those is sealed again under the new key.

use super::model::{ServiceAccount, Temporary, User};
use super::seal::{SealKind, Sealed, Sealer};
use super::{Iam, IamError, State, Step};

/// What re-sealing found.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Resealed {
    /// Documents written again with their secrets under the current key.
    pub moved: usize,
    /// Documents whose secrets open with neither key (left as they are).
    pub unopenable: usize,
}

impl Iam {
    /// How many stored documents hold a secret the current root credentials cannot open.
    pub fn unopenable(&self) -> usize {
        let state = self.read();
        let current = &self.sealer;
        let opens = |kind, key: &str, s: &Sealed| current.open(kind, key, s).is_some();
        count_unopenable(&state, &opens)
    }

    /// Seals again under the current key every secret that opens only with `old`.
    pub fn reseal_from(&self, old: &Sealer) -> Result<Resealed, IamError> {
        self.change(|state| {
            let mut steps = Vec::new();
            let mut report = Resealed::default();
            for u in state.users.values() {
                match self.moved(old, SealKind::User, &u.access_key, &u.secret)? {
                    Moved::Already => {}
                    Moved::To(secret) => steps.push(Step::PutUser(User {
                        secret,
                        ..u.clone()
                    })),
                    Moved::Neither => report.unopenable += 1,
                }
            }
            for sa in state.service_accounts.values() {
                match self.moved(old, SealKind::ServiceAccount, &sa.access_key, &sa.secret)? {
                    Moved::Already => {}
                    Moved::To(secret) => steps.push(Step::PutServiceAccount(ServiceAccount {
                        secret,
                        ..sa.clone()
                    })),
                    Moved::Neither => report.unopenable += 1,
                }
            }
            for t in state.temporary.values() {
                let key = &t.access_key;
                let secret = self.moved(old, SealKind::TemporarySecret, key, &t.secret)?;
                let token = self.moved(old, SealKind::TemporaryToken, key, &t.session_token)?;
                match (secret, token) {
                    (Moved::Already, Moved::Already) => {}
                    (Moved::Neither, _) | (_, Moved::Neither) => report.unopenable += 1,
                    (secret, token) => steps.push(Step::PutTemporary(Temporary {
                        secret: secret.or(&t.secret),
                        session_token: token.or(&t.session_token),
                        ..t.clone()
                    })),
                }
            }
            report.moved = steps.len();
            Ok((steps, report))
        })
    }

    fn moved(
        &self,
        old: &Sealer,
        kind: SealKind,
        access_key: &str,
        sealed: &Sealed,
    ) -> Result<Moved, IamError> {
        if self.sealer.open(kind, access_key, sealed).is_some() {
            return Ok(Moved::Already);
        }
        match old.open(kind, access_key, sealed) {
            Some(secret) => Ok(Moved::To(self.sealer.seal(
                kind,
                access_key,
                secret.expose(),
            )?)),
            None => Ok(Moved::Neither),
        }
    }
}

/// Where one sealed secret stands.
enum Moved {
    /// Opens with the current key.
    Already,
    /// Opened with the old key; sealed again under the current one.
    To(Sealed),
    /// Opens with neither.
    Neither,
}

impl Moved {
    /// The secret under the current key: the new sealing, or the unchanged one.
    fn or(self, unchanged: &Sealed) -> Sealed {
        match self {
            Moved::To(s) => s,
            Moved::Already | Moved::Neither => unchanged.clone(),
        }
    }
}

fn count_unopenable(state: &State, opens: &dyn Fn(SealKind, &str, &Sealed) -> bool) -> usize {
    let users = state
        .users
        .values()
        .filter(|u| !opens(SealKind::User, &u.access_key, &u.secret))
        .count();
    let service_accounts = state
        .service_accounts
        .values()
        .filter(|s| !opens(SealKind::ServiceAccount, &s.access_key, &s.secret))
        .count();
    let temporary = state
        .temporary
        .values()
        .filter(|t| {
            !opens(SealKind::TemporarySecret, &t.access_key, &t.secret)
                || !opens(SealKind::TemporaryToken, &t.access_key, &t.session_token)
        })
        .count();
    users + service_accounts + temporary
}
