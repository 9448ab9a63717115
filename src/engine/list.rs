//! Listing in key order: every drive of a set walks its key directories in sorted order
//! (`Drive::walk`: skipping whole subtrees before the marker, rolling subtrees up into common
//! prefixes when the delimiter is `/`); the walks are merged, each key's state decided from
//! every drive's answer exactly as a read decides it (`set::resolve`), then the sets merged.

use super::drive::bounded::OwnedWalk;
use super::drive::{DriveError, DriveResult, Walk, WalkItem};
use super::meta::{MetaFile, Version};
use super::set::resolve::Resolution;
use super::set::{check_placement, ErasureSet, KeyState};
use std::collections::BTreeMap;

/// One listing entry in key order.
#[derive(Debug, Clone)]
pub enum Item {
    /// A key whose state is this object version.
    Object(Box<Version>, String),
    /// A common prefix (ends with the delimiter).
    Prefix(String),
    /// A key whose state cannot be told while some drives are silent (`true`: it may hold an
    /// acknowledged version).
    Undecided(String, bool),
    /// A key with no version (deleted, or only leftovers): what the scanner visits besides
    /// objects (only with `Walk::debris`).
    Other(String),
}

impl Item {
    pub fn name(&self) -> &str {
        match self {
            Item::Object(_, k) | Item::Prefix(k) | Item::Undecided(k, _) | Item::Other(k) => k,
        }
    }
}

/// What each drive said of one name.
#[derive(Default)]
struct Seen {
    prefix: usize,
    /// Per position: the drive's metadata of the key (`Some(None)`: there but unreadable).
    objects: BTreeMap<usize, Option<MetaFile>>,
    debris: bool,
}

impl ErasureSet {
    /// Up to `limit` items after `after`, and whether more may follow.
    pub fn list_items(&self, bucket: &str, w: &Walk<'_>) -> (Vec<Item>, bool) {
        let n = self.drive_count();
        let quorum = self.geometry(false).read_quorum().max(1);
        let healing = self.healing();
        let mut out = Vec::new();
        let mut after = w.after.to_string();
        loop {
            let walk = Walk {
                after: &after,
                ..w.clone()
            };
            let (b, owned) = (bucket.to_string(), OwnedWalk::from(&walk));
            let walks: Vec<DriveResult<Vec<WalkItem>>> =
                self.on_drives(move |_, d| d.walk(&b, &owned.walk()));
            // Names past the end of a walk that was cut short are not known from every drive.
            let horizon = walks
                .iter()
                .flatten()
                .filter(|v| v.len() >= w.limit)
                .filter_map(|v| v.last().map(|i| i.name().to_string()))
                .min();
            let mut merged: BTreeMap<String, Seen> = BTreeMap::new();
            for (p, walk) in walks.iter().enumerate() {
                for item in walk.iter().flatten() {
                    let seen = merged.entry(item.name().to_string()).or_default();
                    match item {
                        WalkItem::Prefix(_) => seen.prefix += 1,
                        WalkItem::Object(_, meta) => {
                            seen.objects.insert(p, meta.as_deref().cloned());
                        }
                        WalkItem::Debris(_) => seen.debris = true,
                    }
                }
            }
            for (name, seen) in merged {
                if horizon.as_ref().is_some_and(|h| name > *h) {
                    break;
                }
                after = name.clone();
                if seen.prefix >= quorum {
                    out.push(Item::Prefix(name.clone()));
                }
                if seen.objects.is_empty() && !seen.debris {
                    continue;
                }
                let answers: Vec<DriveResult<Option<MetaFile>>> = (0..n)
                    .map(|p| match (&walks[p], seen.objects.get(&p)) {
                        (Err(e), _) => Err(e.clone()),
                        (Ok(_), Some(Some(m))) => check_placement(Some(m.clone()), p, n),
                        (Ok(_), Some(None)) => Err(DriveError::Corrupt("unreadable".into())),
                        (Ok(_), None) => Ok(None),
                    })
                    .collect();
                let mut state = KeyState::new(answers, healing.clone());
                if !state.settled() {
                    // Walked while a commit ran, or one below its quorum (see `read_state`):
                    // read it again on its own.
                    state = self.read_state(bucket, &name);
                }
                match state.resolution {
                    Resolution::Version(v) if !v.is_deletion() => out.push(Item::Object(v, name)),
                    // A key whose metadata is damaged on too many drives to decide it is not
                    // waited for: the listing goes on without it (its GET answers 503), and
                    // says so in the log, rather than every listing of the bucket failing.
                    Resolution::Undecided { .. } if state.undecided_by_damage() => {
                        tracing::error!(
                            bucket,
                            key = %name,
                            "metadata damaged on too many drives to read: left out of listings"
                        );
                        out.push(Item::Undecided(name, false))
                    }
                    Resolution::Undecided { maybe_acked, .. } => {
                        out.push(Item::Undecided(name, maybe_acked))
                    }
                    _ if w.debris => out.push(Item::Other(name)),
                    _ => {}
                }
            }
            match horizon {
                Some(h) if out.len() < w.limit && h == after => continue,
                Some(_) => return (out, true),
                None => return (out, false),
            }
        }
    }
}
