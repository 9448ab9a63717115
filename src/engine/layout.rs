//! Deployments: which drives form which erasure sets, recorded on every drive so that drives
//! given in another order or under other paths go back to their places.
//!
//! Set formation (fixed, documented in README): the drive list (or each ellipsis group of it)
//! is cut, in the order given, into sets of equal size — the largest size from 16 down to 2
//! that divides the group's drive count, unless a size is configured. A single drive is a
//! single-drive deployment (no erasure coding, still bitrot-protected).

use super::drive::beneath::{is_symlink, Root};
use super::drive::{LocalDrive, SYS_DIR};
use super::EngineError;
use serde::{Deserialize, Serialize};
use std::collections::hash_map::Entry;
use std::collections::HashMap;
use std::fs;
use std::io;
use std::path::{Path, PathBuf};

pub const FORMAT_FILE: &str = "format.json";
/// 2: object metadata format 3 (versions and the commit protocol) and shard files `SSF2`
/// (identity-keyed block hashes). Drives of version 1 came from development builds whose
/// objects this one cannot read; they are refused, never reinterpreted.
pub const FORMAT_VERSION: u32 = 2;

#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct FormatRecord {
    pub version: u32,
    pub deployment_id: String,
    /// This drive's id.
    pub drive_id: String,
    /// Drive ids of every set, by position.
    pub sets: Vec<Vec<String>>,
    /// Algorithms this deployment was created with (ids as in object metadata).
    pub codec: u8,
    pub bitrot: u8,
}

impl FormatRecord {
    /// The drive's format record; `None` when it has none. One reached through a symlink
    /// (`.strata.sys` or the record itself) is refused: a drive could pass for another.
    pub fn load(root: &Path) -> io::Result<Option<FormatRecord>> {
        match Root::new(root).read(Path::new(SYS_DIR).join(FORMAT_FILE)) {
            Ok(b) => {
                let rec: FormatRecord = serde_json::from_slice(&b)
                    .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, e))?;
                if rec.version != FORMAT_VERSION {
                    return Err(io::Error::new(
                        io::ErrorKind::InvalidData,
                        format!(
                            "drive format version {} (this Strata reads version {FORMAT_VERSION};                              drives of version 1 were made by a development build with another                              object format: recreate them)",
                            rec.version
                        ),
                    ));
                }
                Ok(Some(rec))
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::metadata(root)?; // the drive itself must be there
                Ok(None)
            }
            Err(e) if is_symlink(&e) => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                format!("{SYS_DIR}/{FORMAT_FILE} is reached through a symlink (not followed)"),
            )),
            Err(e) => Err(e),
        }
    }

    pub fn store(&self, root: &Path) -> io::Result<()> {
        let top = Root::new(root).dir("")?;
        let bytes = serde_json::to_vec_pretty(self).map_err(io::Error::other)?;
        top.ensure_dir(SYS_DIR)?.replace(FORMAT_FILE, &bytes)?;
        top.sync()
    }
}

/// Splits drive groups into erasure sets (paths, by position).
pub fn plan_sets(
    groups: &[Vec<PathBuf>],
    set_size: Option<usize>,
) -> Result<Vec<Vec<PathBuf>>, EngineError> {
    let mut sets = Vec::new();
    for group in groups {
        let n = group.len();
        let size = match set_size {
            Some(s) if (1..=16).contains(&s) && n % s == 0 => s,
            Some(s) => {
                return Err(EngineError::Format(format!(
                    "cannot cut {n} drives into sets of {s} (sets hold 1 to 16 drives and must divide the group)"
                )))
            }
            None if n == 1 => 1,
            None => (2..=16).rev().find(|s| n % s == 0).ok_or_else(|| {
                EngineError::Format(format!(
                    "cannot cut {n} drives into equal sets of 2 to 16 drives; give a multiple of a size in 2..=16"
                ))
            })?,
        };
        if size == 1 && n > 1 {
            return Err(EngineError::Format(
                "several drives need erasure sets of at least 2 drives".into(),
            ));
        }
        sets.extend(group.chunks(size).map(<[PathBuf]>::to_vec));
    }
    if sets.is_empty() {
        return Err(EngineError::Format("no drives given".into()));
    }
    Ok(sets)
}

/// Parity shards per set when none is configured (MinIO's defaults).
pub fn default_parity(set_size: usize) -> usize {
    match set_size {
        0 | 1 => 0,
        2 | 3 => 1,
        4 | 5 => 2,
        6 | 7 => 3,
        _ => 4,
    }
}

/// What became of a drive path at start-up.
#[derive(Debug, Clone, PartialEq)]
pub enum DriveProblem {
    /// Cannot be read at all (missing directory, I/O error, corrupt format record).
    Offline { path: PathBuf, reason: String },
    /// Belongs to another deployment: never used.
    Foreign {
        path: PathBuf,
        deployment_id: String,
    },
    /// Has no format record among formatted drives: used only by an explicit drive heal.
    Unformatted { path: PathBuf },
    /// A drive id of the layout that no given path carries.
    Missing {
        set: usize,
        position: usize,
        drive_id: String,
    },
    /// Two paths carry the same drive id; the second is ignored.
    Duplicate { path: PathBuf, drive_id: String },
}

/// The drives of a deployment, in their places.
#[derive(Debug)]
pub struct Deployment {
    pub id: String,
    /// Per set, per position: the drive id and, when online, its directory.
    pub sets: Vec<Vec<(String, Option<LocalDrive>)>>,
    pub problems: Vec<DriveProblem>,
    pub codec: u8,
    pub bitrot: u8,
}

/// Opens (or, when every drive is new, creates) the deployment on these drive groups.
pub fn open(
    groups: &[Vec<PathBuf>],
    set_size: Option<usize>,
    codec: u8,
    bitrot: u8,
) -> Result<Deployment, EngineError> {
    let planned = plan_sets(groups, set_size)?;
    let paths: Vec<&PathBuf> = planned.iter().flatten().collect();
    let mut formats = Vec::new();
    let mut problems = Vec::new();
    let mut unformatted = Vec::new();
    for p in &paths {
        match FormatRecord::load(p) {
            Ok(Some(f)) => formats.push(((*p).clone(), f)),
            Ok(None) => unformatted.push((*p).clone()),
            Err(e) => problems.push(DriveProblem::Offline {
                path: (*p).clone(),
                reason: e.to_string(),
            }),
        }
    }
    if formats.is_empty() {
        if !problems.is_empty() {
            return Err(EngineError::Format(format!(
                "cannot create a deployment while drives are unreadable: {problems:?}"
            )));
        }
        return create(&planned, codec, bitrot);
    }
    assemble(formats, unformatted, problems)
}

fn create(planned: &[Vec<PathBuf>], codec: u8, bitrot: u8) -> Result<Deployment, EngineError> {
    let id = uuid::Uuid::new_v4().to_string();
    let ids: Vec<Vec<String>> = planned
        .iter()
        .map(|s| s.iter().map(|_| uuid::Uuid::new_v4().to_string()).collect())
        .collect();
    let mut sets = Vec::new();
    for (set_paths, set_ids) in planned.iter().zip(&ids) {
        let mut set = Vec::new();
        for (path, drive_id) in set_paths.iter().zip(set_ids) {
            let rec = FormatRecord {
                version: FORMAT_VERSION,
                deployment_id: id.clone(),
                drive_id: drive_id.clone(),
                sets: ids.clone(),
                codec,
                bitrot,
            };
            rec.store(path).map_err(|e| EngineError::drive(path, e))?;
            set.push((drive_id.clone(), Some(LocalDrive::new(path))));
        }
        sets.push(set);
    }
    tracing::info!(deployment = %id, sets = sets.len(), "formatted a new deployment");
    Ok(Deployment {
        id,
        sets,
        problems: Vec::new(),
        codec,
        bitrot,
    })
}

fn assemble(
    formats: Vec<(PathBuf, FormatRecord)>,
    unformatted: Vec<PathBuf>,
    mut problems: Vec<DriveProblem>,
) -> Result<Deployment, EngineError> {
    // The deployment is the one most drives belong to.
    let mut votes: HashMap<&str, usize> = HashMap::new();
    for (_, f) in &formats {
        *votes.entry(f.deployment_id.as_str()).or_default() += 1;
    }
    let (dep_id, _) = votes
        .iter()
        .max_by_key(|(id, n)| (**n, std::cmp::Reverse(**id)))
        .map(|(id, n)| (id.to_string(), *n))
        .ok_or_else(|| EngineError::Format("no formatted drives".into()))?;
    let reference = formats
        .iter()
        .find(|(_, f)| f.deployment_id == dep_id)
        .map(|(_, f)| f.clone())
        .ok_or_else(|| EngineError::Format("no reference format".into()))?;

    let mut found: HashMap<String, PathBuf> = HashMap::new();
    for (path, f) in formats {
        if f.deployment_id != dep_id {
            problems.push(DriveProblem::Foreign {
                path,
                deployment_id: f.deployment_id,
            });
        } else if f.sets != reference.sets {
            problems.push(DriveProblem::Offline {
                path,
                reason: "its format record disagrees with the deployment's set layout".into(),
            });
        } else {
            match found.entry(f.drive_id) {
                Entry::Occupied(o) => problems.push(DriveProblem::Duplicate {
                    path,
                    drive_id: o.key().clone(),
                }),
                Entry::Vacant(v) => {
                    v.insert(path);
                }
            }
        }
    }
    problems.extend(
        unformatted
            .into_iter()
            .map(|path| DriveProblem::Unformatted { path }),
    );

    let mut sets = Vec::new();
    for (s, ids) in reference.sets.iter().enumerate() {
        let mut set = Vec::new();
        for (pos, drive_id) in ids.iter().enumerate() {
            let disk = found.get(drive_id).map(LocalDrive::new);
            if disk.is_none() {
                problems.push(DriveProblem::Missing {
                    set: s,
                    position: pos,
                    drive_id: drive_id.clone(),
                });
            }
            set.push((drive_id.clone(), disk));
        }
        sets.push(set);
    }
    for p in &problems {
        tracing::warn!(problem = ?p, "drive not in service");
    }
    Ok(Deployment {
        id: dep_id,
        sets,
        problems,
        codec: reference.codec,
        bitrot: reference.bitrot,
    })
}

/// Formats an empty replacement drive into a missing place of the deployment.
pub fn format_replacement(
    dep: &Deployment,
    set: usize,
    position: usize,
    path: &Path,
) -> Result<LocalDrive, EngineError> {
    let sets: Vec<Vec<String>> = dep
        .sets
        .iter()
        .map(|s| s.iter().map(|(id, _)| id.clone()).collect())
        .collect();
    let drive_id = sets
        .get(set)
        .and_then(|s| s.get(position))
        .cloned()
        .ok_or_else(|| {
            EngineError::Format(format!("no place {set}/{position} in the deployment"))
        })?;
    if FormatRecord::load(path)
        .map_err(|e| EngineError::drive(path, e))?
        .is_some()
    {
        return Err(EngineError::Format(format!(
            "{} is already formatted; only an empty drive can replace a missing one",
            path.display()
        )));
    }
    let rec = FormatRecord {
        version: FORMAT_VERSION,
        deployment_id: dep.id.clone(),
        drive_id,
        sets,
        codec: dep.codec,
        bitrot: dep.bitrot,
    };
    rec.store(path).map_err(|e| EngineError::drive(path, e))?;
    Ok(LocalDrive::new(path))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn paths(n: usize) -> Vec<PathBuf> {
        (0..n).map(|i| PathBuf::from(format!("/d{i}"))).collect()
    }

    #[test]
    fn sets_take_the_largest_size_that_divides() {
        let sizes = |n| {
            plan_sets(&[paths(n)], None)
                .unwrap()
                .iter()
                .map(Vec::len)
                .collect::<Vec<_>>()
        };
        assert_eq!(sizes(1), vec![1]);
        assert_eq!(sizes(4), vec![4]);
        assert_eq!(sizes(16), vec![16]);
        assert_eq!(sizes(32), vec![16, 16]);
        assert_eq!(sizes(24), vec![12, 12]);
        assert_eq!(sizes(6), vec![6]);
        assert!(plan_sets(&[paths(17)], None).is_err());
        assert_eq!(plan_sets(&[paths(8)], Some(4)).unwrap().len(), 2);
        assert!(plan_sets(&[paths(8)], Some(3)).is_err());
    }

    #[test]
    fn default_parity_follows_minio() {
        assert_eq!(
            [1, 2, 4, 5, 6, 8, 16].map(default_parity),
            [0, 1, 2, 2, 3, 4, 4]
        );
    }
}
