//! Walking a local drive's bucket in key order (`LocalDrive::walk`): every key directory's
//! children sorted and filtered by name alone, so that a page of a huge directory costs one
//! readdir plus the page's own entries.

use super::local::{DATA_PREFIX, META_FILE, META_TMP_PREFIX};
use super::{DriveResult, Walk, WalkItem};
use crate::engine::meta::MetaFile;
use crate::engine::names::{decode_dir_name, DirName, LONG_NAME_FILE};
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

/// A key directory: its key (or prefix) so far, and where it is.
struct Child {
    name: String,
    path: PathBuf,
}

pub(super) fn walk_dir(
    dir: &Path,
    base: &str,
    w: &Walk<'_>,
    out: &mut Vec<WalkItem>,
) -> DriveResult<()> {
    // Every child could be an object (`name`) and a subtree (`name/`). Both are sorted and
    // filtered (prefix, marker) by name alone, and only the candidates in range touch the
    // disk: a page of a huge directory costs one readdir plus the page's own entries.
    let children = match children(dir, base) {
        Ok(c) => c,
        // Pruned by a concurrent delete after its parent was read: nothing there.
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(()),
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
                if let Some(item) = key_item(&child.path, name, w.debris) {
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
            if name.as_str() > w.after && has_object(&child.path)? {
                out.push(WalkItem::Prefix(name));
            }
            continue;
        }
        walk_dir(&child.path, &name, w, out)?;
    }
    Ok(())
}

/// Whether a metadata file lists an object version (a key left with only a deletion, or an
/// unreadable copy, is not one). Unreadable copies count: what they hold is unknown.
fn lists_object(meta: &Path) -> bool {
    match fs::read(meta) {
        Ok(b) => MetaFile::decode(&b).map_or(true, |m| {
            m.versions.iter().any(|e| e.version.object.is_some())
        }),
        Err(_) => false,
    }
}

/// What a key directory holds as an object: metadata (readable or not), leftovers, or nothing.
fn key_item(dir: &Path, key: String, debris: bool) -> Option<WalkItem> {
    match fs::read(dir.join(META_FILE)) {
        Ok(b) => Some(WalkItem::Object(
            key,
            MetaFile::decode(&b).ok().map(Box::new),
        )),
        Err(e) if e.kind() == io::ErrorKind::NotFound => {
            let leftovers = debris
                && fs::read_dir(dir).is_ok_and(|rd| {
                    rd.flatten().any(|e| {
                        let n = e.file_name();
                        let n = n.to_string_lossy();
                        n.starts_with(DATA_PREFIX) || n.starts_with(META_TMP_PREFIX)
                    })
                });
            leftovers.then_some(WalkItem::Debris(key))
        }
        Err(_) => Some(WalkItem::Object(key, None)),
    }
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
fn has_object(path: &Path) -> DriveResult<bool> {
    let rd = match fs::read_dir(path) {
        Ok(rd) => rd,
        Err(e) if e.kind() == io::ErrorKind::NotFound => return Ok(false),
        Err(e) => return Err(e.into()),
    };
    for e in rd.flatten() {
        let name = e.file_name();
        let name = name.to_string_lossy();
        if !e.file_type().is_ok_and(|t| t.is_dir()) || decode_dir_name(&name).is_none() {
            continue;
        }
        if lists_object(&e.path().join(META_FILE)) || has_object(&e.path())? {
            return Ok(true);
        }
    }
    Ok(false)
}
