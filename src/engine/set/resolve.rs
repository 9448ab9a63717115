//! Which version is a key's state, from what each drive of its set answered. Readers, writers
//! (for conditions and the stamp of the next version), heal and listing all decide with this
//! one function; `commit` documents the protocol that makes its answer right.
//!
//! The rule, over the versions any answering drive lists, newest first (by stamp, then id):
//! - a version listed by at least `decide(v)` drives is the state: the data shards it needs
//!   are on those drives (a drive lists a version only once its data is durable);
//! - otherwise, if the drives listing it plus the drives that did not answer could make its
//!   write quorum `quorum(v)`, it may have been acknowledged: the state is unknowable until
//!   those drives answer (never a guess, never an older version in its place);
//! - otherwise it was never acknowledged (its write failed or was cut short): skip it.
//!
//! When every listed version is skipped the key is absent — unless the drives that did not
//! answer are enough to hold a whole write quorum of versions nobody else saw.
//!
//! `decide` is the version's data-shard count k; `quorum` its write quorum (k, or k + 1 when
//! k = m). A deletion needs no data: it decides at ceil(n/2) drives (no larger than any data
//! version's k, so a deletion seen on every drive that still lists the version it deleted
//! always wins over it) and is acknowledged on a majority, n/2 + 1.

use crate::engine::geometry::Geometry;
use crate::engine::meta::{MetaFile, Version};

/// What one drive said about the key.
#[derive(Debug, Clone, Copy)]
pub enum Answer<'a> {
    /// Its versions (`None`: it has none).
    Known(Option<&'a MetaFile>),
    /// Offline, unreadable, corrupt, or (while being rebuilt) unable to tell absence.
    Unknown,
}

#[derive(Debug, Clone, PartialEq)]
pub enum Resolution {
    /// The key's state: an object, or a deletion.
    Version(Box<Version>),
    /// No version: the key does not exist.
    Absent,
    /// Too many drives did not answer to tell (transient: it resolves when they return).
    Undecided(String),
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
        Some(o) => Geometry {
            data: o.erasure.data as usize,
            parity: o.erasure.parity as usize,
            block_size: o.erasure.block_size as usize,
        }
        .write_quorum(),
        None => deletion_quorum(n),
    }
}

/// The smallest write quorum any version of an `n`-drive set can have (parity is at most n/2).
fn smallest_quorum(n: usize) -> usize {
    n / 2 + 1
}

pub fn resolve(answers: &[Answer<'_>]) -> Resolution {
    let n = answers.len();
    let unknown = answers
        .iter()
        .filter(|a| matches!(a, Answer::Unknown))
        .count();
    let files: Vec<&MetaFile> = answers
        .iter()
        .filter_map(|a| match a {
            Answer::Known(Some(f)) => Some(*f),
            _ => None,
        })
        .collect();
    let mut candidates: Vec<&Version> = Vec::new();
    for f in &files {
        for e in &f.versions {
            if !candidates.contains(&&e.version) {
                candidates.push(&e.version);
            }
        }
    }
    candidates.sort_by(|a, b| (b.stamp, &b.id).cmp(&(a.stamp, &a.id)));
    for v in candidates {
        let holders = files.iter().filter(|f| f.entry(v).is_some()).count();
        if holders >= decide(v, n) {
            return Resolution::Version(Box::new(v.clone()));
        }
        if holders + unknown >= quorum(v, n) {
            return Resolution::Undecided(format!(
                "version {} is on {holders} drive(s) and {unknown} did not answer: it may \
                 have been written to {} of {n}",
                v.id,
                quorum(v, n)
            ));
        }
    }
    if unknown >= smallest_quorum(n) {
        return Resolution::Undecided(format!(
            "{unknown} of {n} drives did not answer: a version only they hold could exist"
        ));
    }
    Resolution::Absent
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::engine::meta::tests::sample_version;
    use crate::engine::meta::Entry;

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
                Some(m) => Answer::Known(m.as_ref()),
                None => Answer::Unknown,
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
        assert!(matches!(run(&unsure), Resolution::Undecided(_)));
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
        assert!(matches!(run(&f), Resolution::Undecided(_)));
        let g = vec![Some(None), Some(None), None, None];
        assert_eq!(run(&g), Resolution::Absent);
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
