//! Listing in key order: every drive of a set walks its key directories in sorted order
//! (skipping whole subtrees before the marker, and rolling subtrees up into common prefixes
//! when the delimiter is `/`); the walks are merged by quorum, then the sets are merged.

use super::disk::{Disk, META_FILE};
use super::meta::ObjectMeta;
use super::names::{decode_dir_name, DirName, LONG_NAME_FILE};
use super::set::{run_parallel, ErasureSet};
use std::collections::BTreeMap;
use std::fs;
use std::io;
use std::path::Path;

/// One listing entry in key order.
#[derive(Debug, Clone)]
pub enum Item {
    Object(Box<ObjectMeta>, String),
    /// A common prefix (ends with the delimiter).
    Prefix(String),
}

impl Item {
    pub fn name(&self) -> &str {
        match self {
            Item::Object(_, k) => k,
            Item::Prefix(p) => p,
        }
    }
}

/// What to walk.
#[derive(Debug, Clone)]
pub struct Walk<'a> {
    pub prefix: &'a str,
    /// Only names strictly after this.
    pub after: &'a str,
    /// Roll directories below the prefix level up into prefixes (delimiter `/`).
    pub collapse: bool,
    pub limit: usize,
}

/// A key directory: its key (or prefix) so far, and where it is.
struct Child {
    name: String,
    path: std::path::PathBuf,
}

impl ErasureSet {
    /// Up to `limit` items after `after`, agreed by a read quorum of this set's drives, and
    /// whether more may follow.
    pub fn list_items(&self, bucket: &str, w: &Walk<'_>) -> (Vec<Item>, bool) {
        let disks: Vec<Option<Disk>> = (0..self.drive_count()).map(|p| self.disk(p)).collect();
        let quorum = self.geometry(false).read_quorum().max(1);
        let mut out = Vec::new();
        let mut after = w.after.to_string();
        loop {
            let walk = Walk {
                after: &after,
                ..w.clone()
            };
            let walks = run_parallel(&disks, |_, d| walk_drive(d, bucket, &walk));
            let walks: Vec<Vec<Item>> = walks.into_iter().filter_map(Result::ok).collect();
            // Items past the end of a walk that was cut short are not known from every drive.
            let horizon = walks
                .iter()
                .filter(|v| v.len() >= w.limit)
                .filter_map(|v| v.last().map(|i| i.name().to_string()))
                .min();
            let mut merged: BTreeMap<String, Vec<Item>> = BTreeMap::new();
            for item in walks.into_iter().flatten() {
                merged
                    .entry(item.name().to_string())
                    .or_default()
                    .push(item);
            }
            for (name, copies) in merged {
                if horizon.as_ref().is_some_and(|h| name > *h) {
                    break;
                }
                if let Some(item) = agree(copies, quorum) {
                    out.push(item);
                }
                after = name;
            }
            match horizon {
                Some(h) if out.len() < w.limit && h == after => continue,
                Some(_) => return (out, true),
                None => return (out, false),
            }
        }
    }
}

/// The copy a quorum agrees on: a prefix seen by `quorum` drives, or an object version held by
/// at least its data-shard count of drives.
fn agree(copies: Vec<Item>, quorum: usize) -> Option<Item> {
    let n = copies.len();
    match copies.first()? {
        Item::Prefix(_) => (n >= quorum).then(|| copies.into_iter().next()).flatten(),
        Item::Object(..) => {
            let mut best: Option<(&ObjectMeta, usize)> = None;
            for c in &copies {
                if let Item::Object(m, _) = c {
                    let count = copies
                        .iter()
                        .filter(|o| matches!(o, Item::Object(x, _) if x.same_version(m)))
                        .count();
                    if best.is_none_or(|(b, bc)| {
                        count > bc || (count == bc && m.mod_time_ns > b.mod_time_ns)
                    }) {
                        best = Some((m, count));
                    }
                }
            }
            let (m, count) = best?;
            (count >= (m.erasure.data as usize).max(1)).then(|| {
                let key = copies[0].name().to_string();
                Item::Object(Box::new(m.clone()), key)
            })
        }
    }
}

/// Walks one drive's bucket in key order.
pub fn walk_drive(disk: &Disk, bucket: &str, w: &Walk<'_>) -> io::Result<Vec<Item>> {
    let root = disk.bucket(bucket);
    if !root.is_dir() {
        return Err(io::Error::new(
            io::ErrorKind::NotFound,
            "bucket missing on drive",
        ));
    }
    let mut out = Vec::new();
    walk_dir(&root, "", w, &mut out)?;
    Ok(out)
}

fn walk_dir(dir: &Path, base: &str, w: &Walk<'_>, out: &mut Vec<Item>) -> io::Result<()> {
    // Every child could be an object (`name`) and a subtree (`name/`). Both are sorted and
    // filtered (prefix, marker) by name alone, and only the candidates in range touch the
    // disk: a page of a huge directory costs one readdir plus the page's own entries.
    let children = match children(dir, base) {
        Ok(c) => c,
        // Pruned by a concurrent delete after its parent was read: nothing there.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
        Err(e) => return Err(e),
    };
    let mut entries: Vec<(String, &Child, bool)> = Vec::with_capacity(children.len() * 2);
    for c in &children {
        entries.push((c.name.clone(), c, false));
        entries.push((format!("{}/", c.name), c, true));
    }
    entries.sort_by(|a, b| a.0.cmp(&b.0));
    for (name, child, is_dir) in entries {
        if out.len() >= w.limit {
            return Ok(());
        }
        if !is_dir {
            if name.starts_with(w.prefix) && name.as_str() > w.after {
                if let Some(meta) = read_meta(&child.path) {
                    out.push(Item::Object(Box::new(meta), name));
                }
            }
            continue;
        }
        let relevant = name.starts_with(w.prefix) || w.prefix.starts_with(&name);
        // Every name below `name` sorts before `after`: skip the subtree.
        let passed = name.as_str() < w.after && !w.after.starts_with(&name);
        if !relevant || passed {
            continue;
        }
        if w.collapse && name.starts_with(w.prefix) && name.len() > w.prefix.len() {
            if name.as_str() > w.after && has_object(&child.path)? {
                out.push(Item::Prefix(name));
            }
            continue;
        }
        walk_dir(&child.path, &name, w, out)?;
    }
    Ok(())
}

/// The key-directory children of `dir` (reserved `%` entries are not children).
fn children(dir: &Path, base: &str) -> io::Result<Vec<Child>> {
    let mut out = Vec::new();
    for e in fs::read_dir(dir)?.flatten() {
        if !e.file_type().is_ok_and(|t| t.is_dir()) {
            continue;
        }
        let raw = e.file_name().to_string_lossy().into_owned();
        let seg = match decode_dir_name(&raw) {
            Some(DirName::Segment(s)) => s,
            Some(DirName::Long) => match fs::read_to_string(e.path().join(LONG_NAME_FILE)) {
                Ok(s) => s,
                Err(_) => continue,
            },
            None => continue,
        };
        out.push(Child {
            name: format!("{base}{seg}"),
            path: e.path(),
        });
    }
    Ok(out)
}

/// Whether any object lives below `path` (a prefix with only empty directories is no prefix).
fn has_object(path: &Path) -> io::Result<bool> {
    for e in match fs::read_dir(path) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e),
    }
    .flatten()
    {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if !e.file_type().is_ok_and(|t| t.is_dir()) || decode_dir_name(&name).is_none() {
            continue;
        }
        if e.path().join(META_FILE).exists() || has_object(&e.path())? {
            return Ok(true);
        }
    }
    Ok(false)
}

fn read_meta(dir: &Path) -> Option<ObjectMeta> {
    fs::read(dir.join(META_FILE))
        .ok()
        .and_then(|b| ObjectMeta::decode(&b).ok())
}
