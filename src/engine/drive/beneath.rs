//! Access below a drive's root that never follows a symlink. Every path inside a drive is
//! resolved by the kernel with `openat2(RESOLVE_NO_SYMLINKS)` (and `RESOLVE_BENEATH` when it is
//! relative to a directory held open), so a symlink planted anywhere inside a drive — a bucket
//! or key directory, `%meta`, a shard file, `.strata.sys/tmp` — fails the access with `ELOOP`
//! instead of reading or writing what it points at. Creating, renaming, linking and removing act
//! on one name inside a directory opened that way: the `*at` calls never follow a final
//! symlink (they rename or remove the link itself), and `O_EXCL` never creates through one.
//!
//! The root is resolved once, when the drive is opened (an administrator may give a drive as a
//! symlink), and no descriptor of it is kept: a pulled drive must not stay pinned by Strata, and
//! an unmounted one must show its bare mount point. So an access starts from the root's path,
//! and one `openat2` resolves the whole path as one `open` did before: refusing symlinks costs
//! no extra call on the way. Paths are plain names only (no `..`, nothing absolute), so nothing
//! climbs out of the root either.

use rustix::fs::{self as rfs, AtFlags, FileType, Mode, OFlags, ResolveFlags};
use rustix::io::Errno;
use std::ffi::{OsStr, OsString};
use std::fs::File;
use std::io::{self, Read, Write};
use std::os::fd::OwnedFd;
use std::os::unix::ffi::OsStrExt;
use std::path::{Component, Path, PathBuf};

/// Whether an access failed because it met a symlink (which it refused to follow).
pub fn is_symlink(e: &io::Error) -> bool {
    e.raw_os_error() == Some(Errno::LOOP.raw_os_error())
}

/// A drive's root, resolved once.
#[derive(Debug, Clone)]
pub struct Root {
    path: PathBuf,
}

/// A directory inside a drive, held open: paths relative to it resolve beneath it.
#[derive(Debug)]
pub struct Dir(OwnedFd);

/// What a name in a directory is, as the directory says (never through a link).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Dir,
    File,
    Symlink,
    Other,
}

#[derive(Debug)]
pub struct Entry {
    pub name: OsString,
    pub kind: Kind,
}

impl Entry {
    /// The name, when it is UTF-8 (every name Strata makes is).
    pub fn name(&self) -> Option<&str> {
        self.name.to_str()
    }
}

/// Directories are held as paths (`O_PATH`): that is all the `*at` calls need, and it skips
/// a directory's `open` (XFS reads ahead a directory's blocks on one).
const DIR: OFlags = OFlags::PATH.union(OFlags::DIRECTORY);
const READ_DIR: OFlags = OFlags::RDONLY.union(OFlags::DIRECTORY);

impl Root {
    /// The drive at `given`, a symlink to it resolved now (kept as given when that fails: the
    /// drive is missing, and every access says so).
    pub fn new(given: &Path) -> Root {
        let path = std::fs::canonicalize(given).unwrap_or_else(|_| given.to_path_buf());
        Root { path }
    }

    pub fn path(&self) -> &Path {
        &self.path
    }

    fn open(&self, rel: &Path, flags: OFlags, mode: Mode) -> io::Result<OwnedFd> {
        plain(rel)?;
        let resolve = ResolveFlags::NO_SYMLINKS;
        let full = self.path.join(rel);
        Ok(rfs::openat2(
            rfs::CWD,
            &full,
            flags | OFlags::CLOEXEC,
            mode,
            resolve,
        )?)
    }

    /// The directory at `rel` (`""`: the root itself).
    pub fn dir(&self, rel: impl AsRef<Path>) -> io::Result<Dir> {
        Ok(Dir(self.open(rel.as_ref(), DIR, Mode::empty())?))
    }

    pub fn file(&self, rel: impl AsRef<Path>) -> io::Result<File> {
        Ok(self
            .open(rel.as_ref(), OFlags::RDONLY, Mode::empty())?
            .into())
    }

    pub fn read(&self, rel: impl AsRef<Path>) -> io::Result<Vec<u8>> {
        read_all(self.file(rel)?)
    }

    /// A new file for writing; fails when the name is taken.
    pub fn create(&self, rel: impl AsRef<Path>) -> io::Result<File> {
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL;
        Ok(self
            .open(rel.as_ref(), flags, Mode::from_raw_mode(0o644))?
            .into())
    }

    /// Whether `rel` is a directory (a symlink to one is not). A name right below the root
    /// takes one `lstat`: the root's own path holds no symlink.
    pub fn is_dir(&self, rel: impl AsRef<Path>) -> bool {
        let rel = rel.as_ref();
        if single(rel).is_err() {
            return self.open(rel, DIR, Mode::empty()).is_ok();
        }
        rfs::statat(rfs::CWD, self.path.join(rel), AtFlags::SYMLINK_NOFOLLOW)
            .is_ok_and(|st| FileType::from_raw_mode(st.st_mode) == FileType::Directory)
    }

    /// Whether anything is at `rel` (a symlink too, as long as none is on the way to it).
    pub fn exists(&self, rel: impl AsRef<Path>) -> bool {
        let flags = OFlags::PATH | OFlags::NOFOLLOW;
        self.open(rel.as_ref(), flags, Mode::empty()).is_ok()
    }
}

impl Dir {
    fn open(&self, rel: &Path, flags: OFlags, mode: Mode) -> io::Result<OwnedFd> {
        plain(rel)?;
        let resolve = ResolveFlags::BENEATH | ResolveFlags::NO_SYMLINKS;
        Ok(rfs::openat2(
            &self.0,
            rel,
            flags | OFlags::CLOEXEC,
            mode,
            resolve,
        )?)
    }

    pub fn dir(&self, rel: impl AsRef<Path>) -> io::Result<Dir> {
        Ok(Dir(self.open(rel.as_ref(), DIR, Mode::empty())?))
    }

    pub fn file(&self, rel: impl AsRef<Path>) -> io::Result<File> {
        Ok(self
            .open(rel.as_ref(), OFlags::RDONLY, Mode::empty())?
            .into())
    }

    pub fn read(&self, rel: impl AsRef<Path>) -> io::Result<Vec<u8>> {
        read_all(self.file(rel)?)
    }

    /// The entries of the directory at `rel` (`""`: this one).
    pub fn list(&self, rel: impl AsRef<Path>) -> io::Result<Vec<Entry>> {
        let rel = rel.as_ref();
        if rel.as_os_str().is_empty() {
            return entries(self.reopen()?);
        }
        entries(self.open(rel, READ_DIR, Mode::empty())?)
    }

    /// This directory, open for reading (it is held as a path).
    fn reopen(&self) -> io::Result<OwnedFd> {
        let flags = READ_DIR | OFlags::CLOEXEC;
        Ok(rfs::openat(&self.0, ".", flags, Mode::empty())?)
    }

    /// A new file for writing; fails when the name is taken (by anything, a symlink included).
    pub fn create(&self, name: impl AsRef<Path>) -> io::Result<File> {
        let name = single(name.as_ref())?;
        let flags = OFlags::WRONLY | OFlags::CREATE | OFlags::EXCL | OFlags::CLOEXEC;
        Ok(rfs::openat(&self.0, name, flags, Mode::from_raw_mode(0o644))?.into())
    }

    /// Makes `name` a file holding `bytes`, durably and atomically: written and synced under a
    /// private name, renamed over whatever was there (a symlink is replaced, never written
    /// through), the directory synced.
    pub fn replace(&self, name: impl AsRef<Path>, bytes: &[u8]) -> io::Result<()> {
        let name = single(name.as_ref())?;
        let mut tmp = name.as_os_str().to_owned();
        tmp.push(format!(".tmp-{}", uuid::Uuid::new_v4().simple()));
        let written = self.create(&tmp).and_then(|mut f| {
            f.write_all(bytes)?;
            f.sync_all()
        });
        let result = written.and_then(|()| self.rename(&tmp, self, name));
        if result.is_err() {
            let _ = self.remove_file(&tmp);
        }
        result?;
        self.sync()
    }

    pub fn mkdir(&self, name: impl AsRef<Path>) -> io::Result<()> {
        let name = single(name.as_ref())?;
        Ok(rfs::mkdirat(&self.0, name, Mode::from_raw_mode(0o755))?)
    }

    /// The directory `name`, made when missing. A symlink in its place is damage: it is
    /// replaced by a directory.
    pub fn ensure_dir(&self, name: impl AsRef<Path>) -> io::Result<Dir> {
        let name = single(name.as_ref())?;
        match self.dir(name) {
            Ok(d) => return Ok(d),
            Err(e) if e.kind() == io::ErrorKind::NotFound => {}
            Err(e) if is_symlink(&e) => {
                tracing::warn!(name = %name.display(),
                    "a symlink where a directory of the drive belongs: replaced");
                self.remove_file(name)?;
            }
            Err(e) => return Err(e),
        }
        match self.mkdir(name) {
            Err(e) if e.kind() != io::ErrorKind::AlreadyExists => return Err(e),
            _ => {}
        }
        self.dir(name)
    }

    /// What `name` is (a symlink is reported as one).
    pub fn kind(&self, name: impl AsRef<Path>) -> io::Result<Kind> {
        let name = single(name.as_ref())?;
        let st = rfs::statat(&self.0, name, AtFlags::SYMLINK_NOFOLLOW)?;
        Ok(kind(FileType::from_raw_mode(st.st_mode)))
    }

    /// Renames `from` (here) to `to_name` in `to`; a symlink is moved or replaced as itself.
    pub fn rename(
        &self,
        from: impl AsRef<Path>,
        to: &Dir,
        to_name: impl AsRef<Path>,
    ) -> io::Result<()> {
        let (from, to_name) = (single(from.as_ref())?, single(to_name.as_ref())?);
        Ok(rfs::renameat(&self.0, from, &to.0, to_name)?)
    }

    /// Hard-links the regular file `from` (here) as `to_name` in `to`; anything else (a
    /// symlink among them) is refused.
    pub fn link(
        &self,
        from: impl AsRef<Path>,
        to: &Dir,
        to_name: impl AsRef<Path>,
    ) -> io::Result<()> {
        let (from, to_name) = (single(from.as_ref())?, single(to_name.as_ref())?);
        match self.kind(from)? {
            Kind::File => Ok(rfs::linkat(
                &self.0,
                from,
                &to.0,
                to_name,
                AtFlags::empty(),
            )?),
            Kind::Symlink => Err(Errno::LOOP.into()),
            _ => Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "not a regular file",
            )),
        }
    }

    /// Removes a file or symlink (never a directory).
    pub fn remove_file(&self, name: impl AsRef<Path>) -> io::Result<()> {
        Ok(rfs::unlinkat(
            &self.0,
            single(name.as_ref())?,
            AtFlags::empty(),
        )?)
    }

    /// Removes an empty directory (a symlink to one is not one).
    pub fn remove_dir(&self, name: impl AsRef<Path>) -> io::Result<()> {
        Ok(rfs::unlinkat(
            &self.0,
            single(name.as_ref())?,
            AtFlags::REMOVEDIR,
        )?)
    }

    /// Removes `name` with everything below it; symlinks are removed, never followed.
    pub fn remove_all(&self, name: impl AsRef<Path>) -> io::Result<()> {
        let name = single(name.as_ref())?;
        match rfs::unlinkat(&self.0, name, AtFlags::empty()) {
            Err(Errno::ISDIR) => self.remove_tree(name),
            r => Ok(r?),
        }
    }

    fn remove_tree(&self, name: &Path) -> io::Result<()> {
        let sub = self.dir(name)?;
        for e in sub.list("")? {
            let name = Path::new(&e.name);
            let gone = match e.kind {
                Kind::Dir => sub.remove_tree(name),
                _ => sub.remove_file(name),
            };
            match gone {
                Err(e) if e.kind() != io::ErrorKind::NotFound => return Err(e),
                _ => {}
            }
        }
        self.remove_dir(name)
    }

    /// Makes what was created, renamed or removed in this directory durable.
    pub fn sync(&self) -> io::Result<()> {
        Ok(rfs::fsync(self.reopen()?)?)
    }
}

/// Refuses anything but plain names (`a/b`): no `..`, `.`, nor an absolute path.
fn plain(rel: &Path) -> io::Result<&Path> {
    if rel.components().all(|c| matches!(c, Component::Normal(_))) {
        Ok(rel)
    } else {
        Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not a plain path inside the drive", rel.display()),
        ))
    }
}

/// Refuses anything but one plain name (what the `*at` calls take).
fn single(name: &Path) -> io::Result<&Path> {
    let b = name.as_os_str().as_bytes();
    if b.is_empty() || b == b"." || b == b".." || b.contains(&b'/') {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("{} is not one name", name.display()),
        ));
    }
    Ok(name)
}

fn kind(t: FileType) -> Kind {
    match t {
        FileType::Directory => Kind::Dir,
        FileType::RegularFile => Kind::File,
        FileType::Symlink => Kind::Symlink,
        _ => Kind::Other,
    }
}

/// A whole file, read as `std::fs::read` does (sized first, no seek).
fn read_all(f: File) -> io::Result<Vec<u8>> {
    let len = f.metadata()?.len();
    let mut out = Vec::with_capacity(usize::try_from(len).unwrap_or(0));
    f.take(u64::MAX).read_to_end(&mut out)?;
    Ok(out)
}

/// Every entry of an open directory but `.` and `..`; a kind the directory does not record is
/// looked up (without following a link).
fn entries(fd: OwnedFd) -> io::Result<Vec<Entry>> {
    let mut out = Vec::new();
    let mut rd = rfs::Dir::new(fd)?;
    while let Some(e) = rd.read() {
        let e = e?;
        let name = e.file_name().to_bytes();
        if name == b"." || name == b".." {
            continue;
        }
        let kind = match e.file_type() {
            FileType::Unknown => rfs::statat(rd.fd()?, e.file_name(), AtFlags::SYMLINK_NOFOLLOW)
                .map(|st| kind(FileType::from_raw_mode(st.st_mode)))
                .unwrap_or(Kind::Other),
            t => kind(t),
        };
        out.push(Entry {
            name: OsStr::from_bytes(name).to_owned(),
            kind,
        });
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::unix::fs::symlink;

    /// A drive with `real/f`, and beside it a directory `outside/secret`; `in-link` → `real`,
    /// `out-link` → `outside`, `file-link` → `outside/secret`.
    fn drive() -> (tempfile::TempDir, Root, PathBuf) {
        let tmp = tempfile::tempdir().unwrap();
        let (root, outside) = (tmp.path().join("drive"), tmp.path().join("outside"));
        std::fs::create_dir_all(root.join("real")).unwrap();
        std::fs::create_dir_all(&outside).unwrap();
        std::fs::write(root.join("real/f"), b"mine").unwrap();
        std::fs::write(outside.join("secret"), b"secret").unwrap();
        symlink(root.join("real"), root.join("in-link")).unwrap();
        symlink(&outside, root.join("out-link")).unwrap();
        symlink(outside.join("secret"), root.join("file-link")).unwrap();
        (tmp, Root::new(&root), outside)
    }

    #[test]
    fn no_symlink_is_followed_on_the_way_or_at_the_end() {
        let (_tmp, root, _) = drive();
        assert_eq!(root.read("real/f").unwrap(), b"mine");
        for rel in ["in-link/f", "out-link/secret", "file-link"] {
            let e = root.read(rel).unwrap_err();
            assert!(is_symlink(&e), "{rel}: {e}");
        }
        assert!(is_symlink(&root.dir("out-link").unwrap_err()));
        let top = root.dir("").unwrap();
        assert!(is_symlink(&top.read("out-link/secret").unwrap_err()));
        assert!(!root.is_dir("out-link") && root.exists("out-link"));
        assert_eq!(top.kind("out-link").unwrap(), Kind::Symlink);
    }

    #[test]
    fn paths_stay_plain_names() {
        let (_tmp, root, _) = drive();
        let top = root.dir("real").unwrap();
        for rel in ["../out-link/secret", "/etc/passwd", "./f/.."] {
            let e = top.read(rel).unwrap_err();
            assert_eq!(e.kind(), io::ErrorKind::InvalidInput, "{rel}");
        }
        assert!(root.read("../outside/secret").is_err());
        assert!(top.mkdir("a/b").is_err() && top.remove_file("..").is_err());
    }

    #[test]
    fn writes_replace_links_and_never_go_through_them() {
        let (_tmp, root, outside) = drive();
        let top = root.dir("").unwrap();
        assert_eq!(
            top.create("file-link").unwrap_err().kind(),
            io::ErrorKind::AlreadyExists
        );
        top.replace("file-link", b"new").unwrap();
        assert_eq!(top.kind("file-link").unwrap(), Kind::File);
        let made = top.ensure_dir("out-link").unwrap();
        made.create("x").unwrap();
        assert_eq!(top.kind("out-link").unwrap(), Kind::Dir);
        top.remove_all("in-link").unwrap();
        assert_eq!(std::fs::read(root.path().join("real/f")).unwrap(), b"mine");
        let names: Vec<_> = std::fs::read_dir(&outside).unwrap().flatten().collect();
        assert_eq!(names.len(), 1, "something was made outside the drive");
        assert_eq!(std::fs::read(outside.join("secret")).unwrap(), b"secret");
    }

    #[test]
    fn removing_a_tree_removes_links_not_their_targets() {
        let (_tmp, root, outside) = drive();
        let top = root.dir("").unwrap();
        let real = top.dir("real").unwrap();
        symlink(&outside, root.path().join("real/out")).unwrap();
        symlink(outside.join("secret"), root.path().join("real/s")).unwrap();
        assert!(is_symlink(&real.link("s", &top, "copy").unwrap_err()));
        top.remove_all("real").unwrap();
        assert!(!root.exists("real"));
        assert_eq!(std::fs::read(outside.join("secret")).unwrap(), b"secret");
    }

    #[test]
    fn a_drive_given_as_a_symlink_is_resolved_once() {
        let (tmp, _, _) = drive();
        let given = tmp.path().join("given");
        symlink(tmp.path().join("drive"), &given).unwrap();
        let root = Root::new(&given);
        assert_eq!(
            root.path(),
            std::fs::canonicalize(tmp.path().join("drive")).unwrap()
        );
        assert_eq!(root.read("real/f").unwrap(), b"mine");
    }
}
