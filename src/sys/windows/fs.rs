//! Private directories and files on Windows. The cache directory is created with a protected
//! DACL (no inherited entries) granting full control to this user, SYSTEM and Administrators
//! only; entries inherit it. What is opened is checked through its own handle: the owner must be
//! this user, Administrators or SYSTEM (an elevated process's files are owned by Administrators)
//! and no other SID may have a write-class right, the rule Win32-OpenSSH applies to its keys.
//! Reparse points (symlinks and junctions) are never followed. Anything that cannot be checked
//! is refused: the cache then warns and the run goes on uncached.

use std::ffi::OsStr;
use std::fs::{self, File, OpenOptions};
use std::io;
use std::os::windows::ffi::OsStrExt;
use std::os::windows::fs::OpenOptionsExt;
use std::os::windows::io::AsRawHandle;
use std::path::Path;
use std::time::Duration;

use windows_sys::Win32::Foundation::{HANDLE, LocalFree};
use windows_sys::Win32::Security::Authorization::{
    ConvertStringSecurityDescriptorToSecurityDescriptorW, GetNamedSecurityInfoW, GetSecurityInfo,
    SDDL_REVISION_1, SE_FILE_OBJECT,
};
use windows_sys::Win32::Security::{
    ACCESS_ALLOWED_ACE, ACE_HEADER, ACL, GetAce, PSECURITY_DESCRIPTOR, PSID, SECURITY_ATTRIBUTES,
};
use windows_sys::Win32::Storage::FileSystem::{
    BY_HANDLE_FILE_INFORMATION, CreateDirectoryW, GetFileInformationByHandle,
};

use super::user;
use crate::sys::Refusal;

const FILE_FLAG_OPEN_REPARSE_POINT: u32 = 0x0020_0000;
const FILE_FLAG_BACKUP_SEMANTICS: u32 = 0x0200_0000;
const OWNER_SECURITY_INFORMATION: u32 = 0x1;
const DACL_SECURITY_INFORMATION: u32 = 0x4;
const ACCESS_ALLOWED_ACE_TYPE: u8 = 0;
/// Rights that let a holder change what the cache serves: write or append data, write extended
/// attributes or attributes, delete (a child), change the DACL or the owner, and the generic
/// write and all.
const WRITE_CLASS: u32 =
    0x2 | 0x4 | 0x10 | 0x40 | 0x100 | 0x1_0000 | 0x4_0000 | 0x8_0000 | 0x1000_0000 | 0x4000_0000;
/// SYSTEM, Administrators, and CREATOR OWNER (an inheritable entry that becomes the creator).
const TRUSTED: [&str; 3] = ["S-1-5-18", "S-1-5-32-544", "S-1-3-0"];
const ERROR_ACCESS_DENIED: i32 = 5;
const ERROR_SHARING_VIOLATION: i32 = 32;
const ERROR_LOCK_VIOLATION: i32 = 33;

/// Identifies one file (not one path): volume serial number and file index.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FileId {
    volume: u32,
    index: u64,
}

impl FileId {
    /// The file an open handle refers to (its index, as std's unstable `file_index` would give).
    pub fn of_file(file: &File, _md: &fs::Metadata) -> FileId {
        FileId::of_handle(file).unwrap_or(FileId {
            volume: 0,
            index: 0,
        })
    }

    /// The file at `path` itself (a reparse point is not followed), if there is one.
    pub fn of_path(path: &Path) -> Option<FileId> {
        let file = OpenOptions::new()
            .access_mode(0x80) // FILE_READ_ATTRIBUTES
            .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT | FILE_FLAG_BACKUP_SEMANTICS)
            .open(path)
            .ok()?;
        FileId::of_handle(&file)
    }

    fn of_handle(file: &File) -> Option<FileId> {
        // SAFETY: zeroed is a valid BY_HANDLE_FILE_INFORMATION; the handle is open for the call.
        let mut info: BY_HANDLE_FILE_INFORMATION = unsafe { std::mem::zeroed() };
        let ok = unsafe { GetFileInformationByHandle(file.as_raw_handle() as HANDLE, &mut info) };
        (ok != 0).then(|| FileId {
            volume: info.dwVolumeSerialNumber,
            index: (u64::from(info.nFileIndexHigh) << 32) | u64::from(info.nFileIndexLow),
        })
    }
}

fn wide(s: &OsStr) -> Vec<u16> {
    s.encode_wide().chain(std::iter::once(0)).collect()
}

/// Creates `dir`'s missing parents as usual and `dir` itself with the protected DACL, in one
/// call (no moment where it exists with the inherited one).
pub fn create_private_dir_all(dir: &Path) -> io::Result<()> {
    if let Some(parent) = dir.parent().filter(|p| !p.as_os_str().is_empty()) {
        fs::create_dir_all(parent)?;
    }
    let sddl = format!(
        "D:P(A;OICI;FA;;;{})(A;OICI;FA;;;SY)(A;OICI;FA;;;BA)",
        user::sid()?
    );
    create_dir_with_sddl(dir, &sddl)
}

/// Creates `dir` with the security descriptor `sddl` (SDDL text).
fn create_dir_with_sddl(dir: &Path, sddl: &str) -> io::Result<()> {
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    // SAFETY: a NUL-terminated SDDL string; on success `sd` is LocalAlloc'd and freed below.
    let ok = unsafe {
        ConvertStringSecurityDescriptorToSecurityDescriptorW(
            wide(OsStr::new(sddl)).as_ptr(),
            SDDL_REVISION_1,
            &mut sd,
            std::ptr::null_mut(),
        )
    };
    if ok == 0 {
        return Err(io::Error::last_os_error());
    }
    let attributes = SECURITY_ATTRIBUTES {
        nLength: std::mem::size_of::<SECURITY_ATTRIBUTES>() as u32,
        lpSecurityDescriptor: sd,
        bInheritHandle: 0,
    };
    // SAFETY: a NUL-terminated path and a valid security descriptor.
    let created = unsafe { CreateDirectoryW(wide(dir.as_os_str()).as_ptr(), &attributes) };
    let result = if created == 0 {
        Err(io::Error::last_os_error())
    } else {
        Ok(())
    };
    // SAFETY: allocated by the conversion above, freed once.
    unsafe { LocalFree(sd) };
    result
}

/// How to create the directory by hand, for a fix line.
pub fn create_private_dir_hint(dir: &Path) -> String {
    format!("New-Item -ItemType Directory '{}'", dir.display())
}

/// Owner and DACL of what `path` names (not followed) or of an open handle.
enum Object<'a> {
    Path(&'a Path),
    Handle(&'a File),
}

/// Who owns `object`, and which SIDs other than this user and the trusted ones may write to it.
/// `Err` when that cannot be read: the caller refuses.
fn owner_and_writers(object: Object<'_>) -> io::Result<(String, String, Vec<String>)> {
    let me = user::sid()?;
    let mut owner: PSID = std::ptr::null_mut();
    let mut dacl: *mut ACL = std::ptr::null_mut();
    let mut sd: PSECURITY_DESCRIPTOR = std::ptr::null_mut();
    let what = OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION;
    // SAFETY: the out-pointers are valid; on success `sd` owns the memory that `owner` and
    // `dacl` point into, and is freed below.
    let rc = unsafe {
        match object {
            Object::Path(path) => GetNamedSecurityInfoW(
                wide(path.as_os_str()).as_ptr(),
                SE_FILE_OBJECT,
                what,
                &mut owner,
                std::ptr::null_mut(),
                &mut dacl,
                std::ptr::null_mut(),
                &mut sd,
            ),
            Object::Handle(file) => GetSecurityInfo(
                file.as_raw_handle() as HANDLE,
                SE_FILE_OBJECT,
                what,
                &mut owner,
                std::ptr::null_mut(),
                &mut dacl,
                std::ptr::null_mut(),
                &mut sd,
            ),
        }
    };
    if rc != 0 {
        return Err(io::Error::from_raw_os_error(rc as i32));
    }
    let result = (|| {
        let owner = user::sid_string(owner)?;
        if dacl.is_null() {
            // A NULL DACL grants everyone everything.
            return Ok((owner, me, vec!["Everyone (no DACL)".to_string()]));
        }
        let mut writers = Vec::new();
        // SAFETY: `dacl` points into `sd`, valid until it is freed.
        let count = unsafe { (*dacl).AceCount };
        for i in 0..u32::from(count) {
            let mut ace: *mut core::ffi::c_void = std::ptr::null_mut();
            // SAFETY: `i` is below the ACL's count.
            if unsafe { GetAce(dacl, i, &mut ace) } == 0 {
                return Err(io::Error::last_os_error());
            }
            // SAFETY: every ACE starts with an ACE_HEADER.
            let header = unsafe { &*(ace as *const ACE_HEADER) };
            if header.AceType != ACCESS_ALLOWED_ACE_TYPE {
                continue; // deny entries only take rights away
            }
            // SAFETY: an access-allowed ACE; its SID starts at `SidStart`.
            let allowed = unsafe { &*(ace as *const ACCESS_ALLOWED_ACE) };
            if allowed.Mask & WRITE_CLASS == 0 {
                continue;
            }
            let sid = user::sid_string(std::ptr::addr_of!(allowed.SidStart) as PSID)?;
            if sid != me && !TRUSTED.contains(&sid.as_str()) {
                writers.push(sid);
            }
        }
        Ok((owner, me, writers))
    })();
    // SAFETY: allocated by Get(Named)SecurityInfo, freed once.
    unsafe { LocalFree(sd) };
    result
}

fn foreign(owner: &str, me: &str) -> bool {
    owner != me && owner != "S-1-5-32-544" && owner != "S-1-5-18"
}

/// Owned by this user (or Administrators or SYSTEM) and writable by nobody else.
pub fn check_private_dir(dir: &Path, _md: &fs::Metadata, _created: bool) -> Result<(), Refusal> {
    let shown = dir.display();
    let fix = "the run goes on without the cache; point the cache at a directory of your own (under %LOCALAPPDATA%), or delete this one so it is created anew";
    match owner_and_writers(Object::Path(dir)) {
        Err(e) => Err(Refusal::new(
            format!("could not read the owner and access list of the cache directory {shown}: {e}"),
            fix,
        )),
        Ok((owner, me, _)) if foreign(&owner, &me) => Err(Refusal::new(
            format!("cache directory {shown} is owned by {owner}, not by this user ({me})"),
            fix,
        )),
        Ok((_, _, writers)) if !writers.is_empty() => Err(Refusal::new(
            format!(
                "cache directory {shown} is writable by {} as well",
                writers.join(", ")
            ),
            fix,
        )),
        Ok(_) => Ok(()),
    }
}

/// Opens `path` for reading without following a reparse point (symlink or junction).
pub fn open_no_follow(path: &Path) -> Result<Option<File>, String> {
    match OpenOptions::new()
        .read(true)
        .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT)
        .open(path)
    {
        Ok(file) => match file.metadata() {
            Ok(md) if md.file_type().is_symlink() => Err("is a symlink or junction".into()),
            _ => Ok(Some(file)),
        },
        Err(e) if e.kind() == io::ErrorKind::NotFound => Ok(None),
        Err(e) => Err(format!("could not be opened: {e}")),
    }
}

/// Opens (creating it when missing: it inherits the directory's DACL) `path` for reading and
/// writing without following a reparse point.
pub fn open_private_rw_no_follow(path: &Path) -> io::Result<File> {
    OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .custom_flags(FILE_FLAG_OPEN_REPARSE_POINT)
        .open(path)
}

/// A directory at the path fails with "access denied", which is not proof of one: nothing is
/// removed on its strength.
pub fn is_not_a_file_error(_e: &io::Error) -> bool {
    false
}

/// `Some("owned by S-…, not by this user (S-…)")` when the open file is someone else's, or its
/// owner cannot be read.
pub fn foreign_owner(file: &File, _md: &fs::Metadata) -> Option<String> {
    match owner_and_writers(Object::Handle(file)) {
        Ok((owner, me, _)) if foreign(&owner, &me) => {
            Some(format!("owned by {owner}, not by this user ({me})"))
        }
        Ok(_) => None,
        Err(e) => Some(format!("of an owner that could not be read ({e})")),
    }
}

/// A cache entry must be ours and writable by nobody else; a reparse point is refused.
pub fn check_private_file(file: &File, md: &fs::Metadata) -> Result<(), String> {
    if md.file_type().is_symlink() {
        return Err("is a symlink or junction".into());
    }
    match owner_and_writers(Object::Handle(file)) {
        Err(e) => Err(format!(
            "has an owner and access list that could not be read ({e})"
        )),
        Ok((owner, me, _)) if foreign(&owner, &me) => {
            Err(format!("is owned by {owner}, not by this user ({me})"))
        }
        Ok((_, _, writers)) if !writers.is_empty() => {
            Err(format!("is writable by {} as well", writers.join(", ")))
        }
        Ok(_) => Ok(()),
    }
}

/// New files inherit the directory's DACL; there is no mode to set.
pub fn private(options: &mut OpenOptions) -> &mut OpenOptions {
    options
}

/// A temp file in `dir`; it inherits the directory's DACL.
pub fn private_tempfile(dir: &Path, prefix: &str) -> io::Result<tempfile::NamedTempFile> {
    tempfile::Builder::new().prefix(prefix).tempfile_in(dir)
}

/// Renames the synced temp file over `target`. std's rename replaces with POSIX semantics where
/// the file system has them (a reader holding the old file does not block it); elsewhere a
/// reader, an indexer or an antivirus scan can hold the target for a moment, so sharing
/// violations are retried for about a second. On failure the temp file is removed.
pub fn replace(tmp: tempfile::NamedTempFile, target: &Path) -> io::Result<()> {
    let tmp = tmp.into_temp_path();
    let mut attempt = 0;
    loop {
        match fs::rename(&tmp, target) {
            Ok(()) => {
                // Disarm the temp path: its name is gone, the file is the target now.
                let _ = tmp.keep();
                return Ok(());
            }
            Err(e)
                if attempt < 20
                    && matches!(
                        e.raw_os_error(),
                        Some(ERROR_ACCESS_DENIED | ERROR_SHARING_VIOLATION | ERROR_LOCK_VIOLATION)
                    ) =>
            {
                attempt += 1;
                std::thread::sleep(Duration::from_millis(50));
            }
            Err(e) => return Err(e),
        }
    }
}

/// The replacement inherits its directory's DACL; there is no mode to copy.
pub fn set_mode_like(_file: &File, _old: Option<&fs::Metadata>) -> io::Result<()> {
    Ok(())
}

/// The replacement is owned by whoever writes it, as any new file on Windows.
pub fn set_owner_like(_file: &File, _old: &fs::Metadata) -> Result<(), (String, io::Error)> {
    Ok(())
}

/// Windows has no FIFOs on the file system: a plain open cannot hang.
pub fn open_without_blocking(path: &Path, _meta: &fs::Metadata) -> io::Result<File> {
    File::open(path)
}

/// How to remove a file by hand, for a fix line.
pub fn remove_hint(path: &Path) -> String {
    format!("Remove-Item '{}'", path.display())
}

/// The absolute path with every link resolved, without std's `\\?\` prefix where the plain form
/// means the same (a drive path under 260 characters): SDKs and cmd.exe are given the form users
/// see.
pub fn canonicalize(path: &Path) -> io::Result<std::path::PathBuf> {
    let full = fs::canonicalize(path)?;
    let text = full.as_os_str().to_string_lossy();
    let plain = text.strip_prefix(r"\\?\").filter(|rest| {
        let b = rest.as_bytes();
        b.len() >= 3
            && b[0].is_ascii_alphabetic()
            && b[1] == b':'
            && b[2] == b'\\'
            && rest.len() < 260
    });
    Ok(plain.map_or(full.clone(), std::path::PathBuf::from))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_created_cache_directory_passes_its_own_check_and_entries_inherit_it() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("cache");
        create_private_dir_all(&dir).unwrap();
        let md = fs::symlink_metadata(&dir).unwrap();
        assert_eq!(check_private_dir(&dir, &md, true), Ok(()));
        let mut tmp_file = private_tempfile(&dir, ".tmp-").unwrap();
        std::io::Write::write_all(&mut tmp_file, b"{}").unwrap();
        let target = dir.join("k.json");
        replace(tmp_file, &target).unwrap();
        let file = open_no_follow(&target).unwrap().unwrap();
        let md = file.metadata().unwrap();
        assert_eq!(check_private_file(&file, &md), Ok(()));
        assert_eq!(FileId::of_path(&target), Some(FileId::of_file(&file, &md)));
    }

    #[test]
    fn a_directory_others_can_write_to_is_refused_naming_them() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = tmp.path().join("open");
        let me = user::sid().unwrap();
        // Everyone (S-1-1-0) may write, as in a directory shared by mistake.
        create_dir_with_sddl(
            &dir,
            &format!("D:P(A;OICI;FA;;;{me})(A;OICI;0x1201bf;;;WD)"),
        )
        .unwrap();
        let md = fs::symlink_metadata(&dir).unwrap();
        let refusal = check_private_dir(&dir, &md, false).unwrap_err();
        assert!(refusal.what.contains("writable by S-1-1-0"), "{refusal:?}");
        // Reading only is not a refusal.
        let dir = tmp.path().join("readable");
        create_dir_with_sddl(&dir, &format!("D:P(A;OICI;FA;;;{me})(A;OICI;FR;;;WD)")).unwrap();
        let md = fs::symlink_metadata(&dir).unwrap();
        assert_eq!(check_private_dir(&dir, &md, false), Ok(()));
    }

    #[test]
    fn canonical_paths_lose_the_verbatim_prefix() {
        let tmp = tempfile::tempdir().unwrap();
        let got = canonicalize(tmp.path()).unwrap();
        assert!(
            !got.as_os_str().to_string_lossy().starts_with(r"\\?\"),
            "{got:?}"
        );
    }
}
