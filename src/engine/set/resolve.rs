//! Which version is a key's state, from what each drive of its set answered. Readers, writers
//! (for conditions and the stamp of the next version), heal and listing all decide with this
//! one function; `commit` documents the protocol that makes its answer right.
//!
//! For a version v, count the drives that list it (h), the drives that did not answer or whose
//! copy is unreadable (s: they might list it), and the drives being rebuilt that do not list it
//! (r: they cannot have its data, but the drive they replaced might have held it). Then, over
//! the versions any drive lists, newest first (by stamp, then id):
//! - h ≥ `decide(v)`: v is the state — the data shards it needs are on those drives (a drive
//!   lists a version only once its data is durable);
//! - h + s ≥ `decide(v)`: v could be the state once the silent drives answer, so nothing else
//!   may be (never an older version in its place): the state is unknown until they do;
//! - otherwise v cannot be read whatever the silent drives say: skipped. (When h + s + r still
//!   reaches its write quorum, an acknowledged v would have been lost with the replaced drives:
//!   `lost` names it, for the logs.)
//!
//! When every listed version is skipped, the key is absent — unless the silent drives alone
//! are a write quorum, which could hold an acknowledged version nobody else lists.
//!
//! `decide` is the version's data-shard count k; `quorum` its write quorum (k, or k + 1 when
//! k = m). A deletion needs no data: it decides at ceil(n/2) drives and is acknowledged on a
//! majority, n/2 + 1. Because a skipped version is one that no answer can make the state, the
//! decision is stable: a version once the state stays so while drives come and go, until a
//! newer version is (invariant 6 of `commit`).

use crate::meta::{MetaFile, Version};

/// What one drive said about the key.
#[derive(Debug, Clone, Copy)]
pub enum Answer<'a> {
    /// Its versions (`None`: it has none). A drive being rebuilt (`healing`) lists truly what
    /// it has, but what it lacks may have been on the drive it replaced.
    Known {
        file: Option<&'a MetaFile>,
        healing: bool,
    },
    /// Offline, unreadable or corrupt: it might list anything.
    Silent,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// The key's state: an object, or a deletion.
    Version(Box<Version>),
    /// No version: the key does not exist.
    Absent,
    /// Too many drives did not answer to tell (transient: it resolves when they return).
    /// `maybe_acked`: a version that could have been acknowledged is among the candidates (a
    /// listing must not leave such a key out silently).
    Undecided { detail: String, maybe_acked: bool },
}

impl Resolution {
    /// The current object version, if the key holds one.
    pub fn object(&self) -> Option<&Version> {
        match self {
            Resolution::Version(v) if !v.is_deletion() => Some(v),
            _ => None,
        }
    }
}

/// Drives that decide a deletion.
pub fn deletion_decide(n: usize) -> usize {
    n - n / 2
}

/// Write quorum of a deletion (a majority).
pub fn deletion_quorum(n: usize) -> usize {
    n / 2 + 1
}

/// Drives listing `v` that make it the state.
pub fn decide(v: &Version, n: usize) -> usize {
    match &v.object {
        Some(o) => (o.erasure.data as usize).max(1),
        None => deletion_decide(n),
    }
}

/// Drives that acknowledge a write of `v`.
pub fn quorum(v: &Version, n: usize) -> usize {
    match &v.object {
        Some(o) => o.erasure.geometry().write_quorum(),
        None => deletion_quorum(n),
    }
}

/// The smallest write quorum any version of an `n`-drive set can have (parity is at most n/2).
fn smallest_quorum(n: usize) -> usize {
    n / 2 + 1
}

/// Per candidate version, newest first: the version and its (h, s, r) counts.
fn candidates<'a>(answers: &[Answer<'a>]) -> Vec<(&'a Version, usize, usize, usize)> {
    let silent = answers
        .iter()
        .filter(|a| matches!(a, Answer::Silent))
        .count();
    let mut versions: Vec<&'a Version> = Vec::new();
    for a in answers {
        if let Answer::Known { file: Some(f), .. } = a {
            for e in &f.versions {
                if !versions.contains(&&e.version) {
                    versions.push(&e.version);
                }
            }
        }
    }
    versions.sort_by(|a, b| (b.stamp, &b.id).cmp(&(a.stamp, &a.id)));
    versions
        .into_iter()
        .map(|v| {
            let lists = |a: &Answer<'_>| {
                matches!(a, Answer::Known { file: Some(f), .. } if f.entry(v).is_some())
            };
            let h = answers.iter().filter(|a| lists(a)).count();
            let r = answers
                .iter()
                .filter(|a| matches!(a, Answer::Known { healing: true, .. }) && !lists(a))
                .count();
            (v, h, silent, r)
        })
        .collect()
}

pub fn resolve(answers: &[Answer<'_>]) -> Resolution {
    let n = answers.len();
    for (v, h, s, r) in candidates(answers) {
        if h >= decide(v, n) {
            return Resolution::Version(Box::new(v.clone()));
        }
        if h + s >= decide(v, n) {
            return Resolution::Undecided {
                detail: format!(
                    "version {} is on {h} drive(s) and {s} did not answer: {} would make it the \
                     key's state",
                    v.id,
                    decide(v, n)
                ),
                maybe_acked: h + s + r >= quorum(v, n),
            };
        }
    }
    // Drives being rebuilt cannot vouch for absence either: what they lack may have been on
    // the drives they replaced.
    let unknown = answers
        .iter()
        .filter(|a| matches!(a, Answer::Silent | Answer::Known { healing: true, .. }))
        .count();
    if unknown >= smallest_quorum(n) {
        return Resolution::Undecided {
            detail: format!(
                "{unknown} of {n} drives did not answer or are being rebuilt: a version only \
                 they held could exist"
            ),
            maybe_acked: true,
        };
    }
    Resolution::Absent
}

/// Versions skipped although they may have been acknowledged: listed (or possibly listed) by a
/// write quorum once the drives that were replaced are counted, but held by too few drives to
/// be read. Such a version, if it was acknowledged, was lost with the replaced drives.
pub fn lost(answers: &[Answer<'_>]) -> Vec<Version> {
    let n = answers.len();
    let mut out = Vec::new();
    for (v, h, s, r) in candidates(answers) {
        if h >= decide(v, n) || h + s >= decide(v, n) {
            break;
        }
        if r > 0 && h + s + r >= quorum(v, n) {
            out.push(v.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::meta::tests::sample_version;
    use crate::meta::Entry;

    /// A version of a k+m geometry at `stamp`.
    fn v(id: &str, stamp: u64, k: u8, m: u8) -> Version {
        let mut v = sample_version(id, stamp);
        let e = &mut v.object.as_mut().unwrap().erasure;
        e.data = k;
        e.parity = m;
        v
    }

    fn del(id: &str, stamp: u64) -> Version {
        Version {
            id: id.into(),
            stamp,
            object: None,
        }
    }

    fn file(vs: &[&Version]) -> MetaFile {
        MetaFile {
            versions: vs
                .iter()
                .map(|v| Entry {
                    version: (*v).clone(),
                    shard: 0,
                    inline: None,
                })
                .collect(),
        }
    }

    fn run(files: &[Option<Option<MetaFile>>]) -> Resolution {
        let answers: Vec<Answer<'_>> = files
            .iter()
            .map(|f| match f {
                Some(m) => Answer::Known {
                    file: m.as_ref(),
                    healing: false,
                },
                None => Answer::Silent,
            })
            .collect();
        resolve(&answers)
    }

    #[test]
    fn an_overwrite_cut_short_keeps_the_previous_version() {
        // 4+2: the new version reached 3 drives (n-k < 3 < k) before the crash.
        let old = v("old", 1, 4, 2);
        let new = v("new", 2, 4, 2);
        let both = file(&[&new, &old]);
        let only_old = file(&[&old]);
        let f: Vec<_> = (0..6)
            .map(|i| {
                Some(Some(if i < 3 {
                    both.clone()
                } else {
                    only_old.clone()
                }))
            })
            .collect();
        assert_eq!(run(&f), Resolution::Version(Box::new(old.clone())));
        // With a fourth drive the new one is readable, and wins.
        let mut f4 = f.clone();
        f4[3] = Some(Some(both.clone()));
        assert_eq!(run(&f4), Resolution::Version(Box::new(new)));
        // When the three others did not answer, the new one may have been acknowledged.
        let mut unsure = f.clone();
        for a in &mut unsure[3..] {
            *a = None;
        }
        assert!(matches!(run(&unsure), Resolution::Undecided { .. }));
    }

    #[test]
    fn a_first_write_cut_short_is_absent_not_stuck() {
        let new = v("new", 2, 4, 2);
        let f: Vec<_> = (0..6)
            .map(|i| Some(if i < 3 { Some(file(&[&new])) } else { None }))
            .collect();
        assert_eq!(run(&f), Resolution::Absent);
    }

    #[test]
    fn a_deletion_wins_over_what_it_deleted_and_needs_half_the_drives() {
        // 2+2, k = m: a deletion seen with its victim on two drives, the others removed.
        let old = v("old", 1, 2, 2);
        let d = del("d", 2);
        let f = vec![
            Some(Some(file(&[&d, &old]))),
            Some(Some(file(&[&d, &old]))),
            Some(None),
            Some(None),
        ];
        assert_eq!(run(&f), Resolution::Version(Box::new(d.clone())));
        // On one drive only, with its victim everywhere: never acknowledged.
        let g = vec![
            Some(Some(file(&[&d, &old]))),
            Some(Some(file(&[&old]))),
            Some(Some(file(&[&old]))),
            Some(Some(file(&[&old]))),
        ];
        assert_eq!(run(&g), Resolution::Version(Box::new(old)));
    }

    #[test]
    fn too_many_silent_drives_are_undecided() {
        // 4 drives: no write quorum is smaller than 3, so 3 silent drives could hide one;
        // 2 cannot (every acknowledged version is on one of the 2 that answered).
        let f = vec![Some(None), None, None, None];
        assert!(matches!(run(&f), Resolution::Undecided { .. }));
        let g = vec![Some(None), Some(None), None, None];
        assert_eq!(run(&g), Resolution::Absent);
    }

    #[test]
    fn drives_being_rebuilt_do_not_vouch_for_absence() {
        // 2+2: a version on three drives; one replaced (empty, healing) and the other two
        // offline. The one drive that answers lists nothing, but the key is not known absent:
        // a deletion acknowledged on that answer alone would come undone when they return.
        let empty = |healing| Answer::Known {
            file: None,
            healing,
        };
        let answers = [empty(true), Answer::Silent, Answer::Silent, empty(false)];
        assert!(matches!(
            resolve(&answers),
            Resolution::Undecided {
                maybe_acked: true,
                ..
            }
        ));
        // With only one drive silent besides the one being rebuilt, every acknowledged
        // version would be on the two that answered: absent.
        let answers = [empty(true), Answer::Silent, empty(false), empty(false)];
        assert_eq!(resolve(&answers), Resolution::Absent);
    }

    #[test]
    fn a_state_stays_the_state_while_one_of_its_drives_is_silent() {
        // 2+2 (k = m): a version cut short on exactly k drives is the state; with one of
        // them silent it must not turn back into the older version.
        let old = v("old", 1, 2, 2);
        let new = v("new", 2, 2, 2);
        let f = vec![
            Some(Some(file(&[&new, &old]))),
            Some(Some(file(&[&new, &old]))),
            Some(Some(file(&[&old]))),
            Some(Some(file(&[&old]))),
        ];
        assert_eq!(run(&f), Resolution::Version(Box::new(new.clone())));
        let mut g = f.clone();
        g[0] = None;
        assert!(
            matches!(run(&g), Resolution::Undecided { .. }),
            "{:?}",
            run(&g)
        );
        // The same for a deletion (it decides at ceil(n/2)).
        let d = del("d", 3);
        let h = vec![
            None,
            Some(Some(file(&[&d, &old]))),
            Some(Some(file(&[&old]))),
            Some(Some(file(&[&old]))),
        ];
        assert!(matches!(run(&h), Resolution::Undecided { .. }));
    }

    #[test]
    fn a_replaced_drive_cannot_keep_a_version_it_never_had_alive() {
        // 4+2: a new version cut short on 3 drives (W - 1), one drive of the old version
        // replaced by an empty one (healing). It may have been acknowledged only if the
        // replaced drive held it — and then it was lost with it: skipped, and named as lost.
        let old = v("old", 1, 4, 2);
        let new = v("new", 2, 4, 2);
        let mut answers: Vec<Answer<'_>> = Vec::new();
        let both = file(&[&new, &old]);
        let only_old = file(&[&old]);
        for i in 0..5 {
            answers.push(Answer::Known {
                file: Some(if i < 3 { &both } else { &only_old }),
                healing: false,
            });
        }
        answers.push(Answer::Known {
            file: None,
            healing: true,
        });
        assert_eq!(resolve(&answers), Resolution::Version(Box::new(old)));
        assert_eq!(lost(&answers), vec![new]);
    }

    #[test]
    fn versions_are_compared_whole() {
        let a = v("x", 1, 2, 2);
        let mut b = a.clone();
        b.object.as_mut().unwrap().size = 99;
        // Same id and stamp, another size: a different version. Only the one held by k
        // drives is the state; the fields of the other never leak into it.
        let f = vec![
            Some(Some(file(&[&a]))),
            Some(Some(file(&[&a]))),
            Some(Some(file(&[&b]))),
            Some(Some(file(&[&a]))),
        ];
        assert_eq!(run(&f), Resolution::Version(Box::new(a.clone())));
        let g = vec![
            Some(Some(file(&[&b]))),
            Some(Some(file(&[&a]))),
            Some(None),
            Some(None),
        ];
        // One copy each of two different versions: neither can be read.
        assert_eq!(run(&g), Resolution::Absent);
    }
}
