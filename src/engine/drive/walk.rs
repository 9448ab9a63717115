//! Walking a local drive's bucket in key order (`LocalDrive::walk`): every key directory's
//! children sorted and filtered by name alone, so that a page of a huge directory costs one
//! readdir plus the page's own entries. Everything is read relative to the bucket's directory,
//! held open, through `beneath`: a symlink is no key directory, and a `%meta` that is one is an
//! unreadable copy (never read through).

use super::beneath::{is_symlink, Dir, Kind};
use super::local::{DATA_PREFIX, META_FILE, META_TMP_PREFIX};
use super::{DriveResult, Walk, WalkItem};
use crate::meta::MetaFile;
use crate::names::{decode_dir_name, DirName, LONG_NAME_FILE};
use std::io;
use std::path::{Path, PathBuf};

/// A key directory: its key (or prefix) so far, and where it is in the bucket.
struct Child {
    name: String,
    rel: PathBuf,
}

/// Walks the key directory `rel` of the bucket directory `bucket`.
pub(super) fn walk_dir(
    bucket: &Dir,
    rel: &Path,
    base: &str,
    w: &Walk<'_>,
    out: &mut Vec<WalkItem>,
) -> DriveResult<()> {
    // Every child could be an object (`name`) and a subtree (`name/`). Both are sorted and
    // filtered (prefix, marker) by name alone, and only the candidates in range touch the
    // disk: a page of a huge directory costs one readdir plus the page's own entries.
    let children = match children(bucket, rel, base) {
        Ok(c) => c,
        // Pruned by a concurrent delete after its parent was read (or replaced by a
        // symlink): nothing there.
        Err(e) if gone(&e) => return Ok(()),
        Err(e) => return Err(e.into()),
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
                if let Some(item) = key_item(bucket, &child.rel, name, w.debris) {
                    out.push(item);
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
            if name.as_str() > w.after && has_object(bucket, &child.rel)? {
                out.push(WalkItem::Prefix(name));
            }
            continue;
        }
        walk_dir(bucket, &child.rel, &name, w, out)?;
    }
    Ok(())
}

/// Not there (any more), or not a directory of the drive's own.
fn gone(e: &io::Error) -> bool {
    e.kind() == io::ErrorKind::NotFound || is_symlink(e)
}

/// Whether a metadata file lists an object version (a key left with only a deletion, or an
/// unreadable copy, is not one). Unreadable copies count: what they hold is unknown.
fn lists_object(bucket: &Dir, meta: &Path) -> bool {
    match bucket.read(meta) {
        Ok(b) => MetaFile::decode(&b).map_or(true, |m| {
            m.versions.iter().any(|e| e.version.object.is_some())
        }),
        Err(_) => false,
    }
}

/// What a key directory holds as an object: metadata (readable or not), leftovers, or nothing.
fn key_item(bucket: &Dir, dir: &Path, key: String, debris: bool) -> Option<WalkItem> {
    match bucket.read(dir.join(META_FILE)) {
        Ok(b) => Some(WalkItem::Object(
            key,
            MetaFile::decode(&b).ok().map(Box::new),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let leftovers = debris
                && bucket.list(dir).is_ok_and(|entries| {
                    entries
                        .iter()
                        .filter_map(|e| e.name())
                        .any(|n| n.starts_with(DATA_PREFIX) || n.starts_with(META_TMP_PREFIX))
                });
            leftovers.then_some(WalkItem::Debris(key))
        }
        // Unreadable (a symlink among them): a copy that is there but damaged.
        Err(_) => Some(WalkItem::Object(key, None)),
    }
}

/// The key-directory children of `rel` (reserved `%` entries are not children, nor is
/// anything that is not a directory: symlinks are never followed).
fn children(bucket: &Dir, rel: &Path, base: &str) -> io::Result<Vec<Child>> {
    let mut out = Vec::new();
    for e in bucket.list(rel)? {
        let Some(raw) = e.name().filter(|_| e.kind == Kind::Dir) else {
            continue;
        };
        let seg = match decode_dir_name(raw) {
            Some(DirName::Segment(s)) => s,
            Some(DirName::Long) => {
                let named = bucket.read(rel.join(raw).join(LONG_NAME_FILE));
                match named.ok().and_then(|b| String::from_utf8(b).ok()) {
                    Some(s) => s,
                    None => continue,
                }
            }
            None => continue,
        };
        out.push(Child {
            name: format!("{base}{seg}"),
            rel: rel.join(raw),
        });
    }
    Ok(out)
}

/// Whether any object lives below `rel` (a prefix with only empty directories is no prefix).
fn has_object(bucket: &Dir, rel: &Path) -> DriveResult<bool> {
    let entries = match bucket.list(rel) {
        Ok(entries) => entries,
        Err(e) if gone(&e) => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    for e in entries {
        let Some(name) = e.name().filter(|_| e.kind == Kind::Dir) else {
            continue;
        };
        if decode_dir_name(name).is_none() {
            continue;
        }
        let sub = rel.join(name);
        if lists_object(bucket, &sub.join(META_FILE)) || has_object(bucket, &sub)? {
            return Ok(true);
        }
    }
    Ok(false)
}
