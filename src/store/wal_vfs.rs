//! Fewer, larger writes to the WAL: a thin VFS over SQLite's own that gathers a commit's frames and hands them
//! to the kernel in one write.
//!
//! SQLite writes each WAL frame as two `pwrite` calls, its 24-byte header and then its page, and every call pays
//! for a system call and the page cache's bookkeeping of each page it touches (a frame is not page-aligned, so its
//! page straddles two). At full load a commit wrote about 44 frames: 88 calls, and the writer thread spent about a
//! fifth of its time in them, little of it copying bytes. Here the writer connection's WAL file keeps what SQLite
//! appends and writes it at once when the commit's last frame is complete, before SQLite publishes the commit in
//! the WAL index; anything else done to the file (a read, a sync, a write elsewhere) writes what is kept first. So
//! another connection never sees a commit whose frames are not in the file, and a failed write fails the commit.
//!
//! Only files SQLite opens as a WAL are wrapped; every other file is SQLite's own, untouched.

use std::ffi::{CStr, c_char, c_int, c_void};
use std::ptr;
use std::sync::OnceLock;

use rusqlite::ffi;

/// The name connections open with to use this VFS.
pub const NAME: &CStr = c"hookscope-gathering-wal";

/// The size of a WAL frame's header. Its second word is the database's size in pages after the commit for the
/// frame that ends one, and zero for every other frame.
const FRAME_HEADER: usize = 24;

/// The most bytes kept before they are written anyway, so a large commit is written in steps of this size. SQLite's
/// Unix VFS writes at most this much per call: it masks a larger size down to its low 17 bits.
const MOST_KEPT: usize = 0x1_ffff;

/// Where the wrapped file's own state starts inside the allocation SQLite makes for each file.
const REAL_OFFSET: usize = std::mem::size_of::<GatheringFile>().next_multiple_of(16);

/// The VFS this one wraps (the platform's default), found and registered once.
static UNDERLYING: OnceLock<Result<usize, c_int>> = OnceLock::new();

/// A WAL file: SQLite's `sqlite3_file` header, then what is kept, then (at [`REAL_OFFSET`]) the real file.
#[repr(C)]
struct GatheringFile {
    base: ffi::sqlite3_file,
    real: *mut ffi::sqlite3_file,
    /// Bytes appended but not yet written, starting at file offset `start`.
    kept: Vec<u8>,
    start: i64,
    /// Write what is kept after the next write: it completes the frame that ends a commit (or follows a sync).
    write_after_next: bool,
}

/// Registers the VFS (once per process). Returns SQLite's error code if it cannot be.
pub fn register() -> Result<(), c_int> {
    UNDERLYING.get_or_init(|| unsafe { register_once() }).map(|_| ())
}

unsafe fn register_once() -> Result<usize, c_int> {
    // SAFETY: the VFS struct is leaked, so it lives as long as the process, as SQLite requires of a registered one.
    unsafe {
        let rc = ffi::sqlite3_initialize();
        if rc != ffi::SQLITE_OK {
            return Err(rc);
        }
        let underlying = ffi::sqlite3_vfs_find(ptr::null());
        if underlying.is_null() {
            return Err(ffi::SQLITE_ERROR);
        }
        let mut vfs: ffi::sqlite3_vfs = ptr::read(underlying);
        vfs.zName = NAME.as_ptr();
        vfs.pNext = ptr::null_mut();
        let real_size = usize::try_from((*underlying).szOsFile).map_err(|_| ffi::SQLITE_ERROR)?;
        vfs.szOsFile = c_int::try_from(REAL_OFFSET + real_size).map_err(|_| ffi::SQLITE_ERROR)?;
        vfs.xOpen = Some(open);
        let vfs = Box::leak(Box::new(vfs));
        let rc = ffi::sqlite3_vfs_register(vfs, 0);
        if rc != ffi::SQLITE_OK {
            return Err(rc);
        }
        Ok(underlying as usize)
    }
}

fn underlying() -> *mut ffi::sqlite3_vfs {
    match UNDERLYING.get() {
        Some(Ok(address)) => *address as *mut ffi::sqlite3_vfs,
        _ => ptr::null_mut(),
    }
}

/// The methods of a wrapped WAL file, shared by all of them.
static METHODS: ffi::sqlite3_io_methods = ffi::sqlite3_io_methods {
    iVersion: 3,
    xClose: Some(close),
    xRead: Some(read),
    xWrite: Some(write),
    xTruncate: Some(truncate),
    xSync: Some(sync),
    xFileSize: Some(file_size),
    xLock: Some(lock),
    xUnlock: Some(unlock),
    xCheckReservedLock: Some(check_reserved_lock),
    xFileControl: Some(file_control),
    xSectorSize: Some(sector_size),
    xDeviceCharacteristics: Some(device_characteristics),
    xShmMap: Some(shm_map),
    xShmLock: Some(shm_lock),
    xShmBarrier: Some(shm_barrier),
    xShmUnmap: Some(shm_unmap),
    xFetch: Some(fetch),
    xUnfetch: Some(unfetch),
};

unsafe extern "C" fn open(
    _vfs: *mut ffi::sqlite3_vfs,
    name: *const c_char,
    file: *mut ffi::sqlite3_file,
    flags: c_int,
    out_flags: *mut c_int,
) -> c_int {
    let underlying = underlying();
    // SAFETY: SQLite hands over `file` with `szOsFile` bytes, which leaves room for the real file at REAL_OFFSET;
    // every other file is opened straight into it, as the underlying VFS would have.
    unsafe {
        let Some(real_open) = underlying.as_ref().and_then(|u| u.xOpen) else {
            (*file).pMethods = ptr::null();
            return ffi::SQLITE_ERROR;
        };
        if flags & ffi::SQLITE_OPEN_WAL == 0 {
            return real_open(underlying, name, file, flags, out_flags);
        }
        let real = file.cast::<u8>().add(REAL_OFFSET).cast::<ffi::sqlite3_file>();
        (*real).pMethods = ptr::null();
        let rc = real_open(underlying, name, real, flags, out_flags);
        if rc != ffi::SQLITE_OK {
            if let Some(close) = (*real).pMethods.as_ref().and_then(|methods| methods.xClose) {
                close(real);
            }
            (*file).pMethods = ptr::null();
            return rc;
        }
        ptr::write(
            file.cast::<GatheringFile>(),
            GatheringFile {
                base: ffi::sqlite3_file { pMethods: &METHODS },
                real,
                kept: Vec::new(),
                start: 0,
                write_after_next: false,
            },
        );
        ffi::SQLITE_OK
    }
}

/// The wrapped file behind SQLite's handle.
///
/// # Safety
/// `file` must be a handle [`open`] made for a WAL file and not yet closed.
unsafe fn gathering<'a>(file: *mut ffi::sqlite3_file) -> &'a mut GatheringFile {
    unsafe { &mut *file.cast::<GatheringFile>() }
}

/// The real file's methods.
///
/// # Safety
/// As for [`gathering`].
unsafe fn real_methods<'a>(file: &GatheringFile) -> &'a ffi::sqlite3_io_methods {
    unsafe { &*(*file.real).pMethods }
}

impl GatheringFile {
    /// Writes what is kept. Whatever the outcome, nothing is kept after: a failed write fails SQLite's operation.
    unsafe fn write_kept(&mut self) -> c_int {
        if self.kept.is_empty() {
            return ffi::SQLITE_OK;
        }
        let Ok(amount) = c_int::try_from(self.kept.len()) else {
            self.kept.clear();
            return ffi::SQLITE_IOERR_WRITE;
        };
        // SAFETY: the real file is open for as long as this one is.
        let rc = unsafe {
            match real_methods(self).xWrite {
                Some(write) => write(self.real, self.kept.as_ptr().cast(), amount, self.start),
                None => ffi::SQLITE_IOERR_WRITE,
            }
        };
        self.kept.clear();
        rc
    }
}

unsafe extern "C" fn write(file: *mut ffi::sqlite3_file, data: *const c_void, amount: c_int, offset: i64) -> c_int {
    // SAFETY: SQLite passes a handle `open` made and `amount` readable bytes at `data`.
    unsafe {
        let file = gathering(file);
        let Ok(length) = usize::try_from(amount) else {
            return ffi::SQLITE_IOERR_WRITE;
        };
        if length == 0 {
            return ffi::SQLITE_OK;
        }
        let bytes = std::slice::from_raw_parts(data.cast::<u8>(), length);
        let follows = i64::try_from(file.kept.len()).is_ok_and(|kept| file.start.checked_add(kept) == Some(offset));
        if !file.kept.is_empty() && (!follows || file.kept.len() + length > MOST_KEPT) {
            let rc = file.write_kept();
            if rc != ffi::SQLITE_OK {
                return rc;
            }
        }
        if length > MOST_KEPT {
            return match real_methods(file).xWrite {
                Some(write) => write(file.real, data, amount, offset),
                None => ffi::SQLITE_IOERR_WRITE,
            };
        }
        if file.kept.is_empty() {
            file.start = offset;
        }
        file.kept.extend_from_slice(bytes);
        if length == FRAME_HEADER && bytes[4..8] != [0, 0, 0, 0] {
            // The header of a frame that ends a commit: its page comes next, and then the commit is complete.
            file.write_after_next = true;
            return ffi::SQLITE_OK;
        }
        if std::mem::take(&mut file.write_after_next) {
            return file.write_kept();
        }
        ffi::SQLITE_OK
    }
}

unsafe extern "C" fn close(file: *mut ffi::sqlite3_file) -> c_int {
    // SAFETY: SQLite closes each handle once; the state is dropped here and the handle not used again.
    unsafe {
        let gathering_file = gathering(file);
        let written = gathering_file.write_kept();
        let real = gathering_file.real;
        let closed = match real_methods(gathering_file).xClose {
            Some(close) => close(real),
            None => ffi::SQLITE_OK,
        };
        ptr::drop_in_place(file.cast::<GatheringFile>());
        (*file).pMethods = ptr::null();
        if written != ffi::SQLITE_OK { written } else { closed }
    }
}

/// Writes what is kept, then passes the call to the real file: the call reads the file, changes it elsewhere
/// or asks about its size, so it must see every byte SQLite has written.
macro_rules! after_writing_kept {
    ($name:ident, $method:ident, $missing:expr, ($($argument:ident: $type:ty),*)) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $argument: $type)*) -> c_int {
            unsafe {
                let file = gathering(file);
                let rc = file.write_kept();
                if rc != ffi::SQLITE_OK {
                    return rc;
                }
                match real_methods(file).$method {
                    Some(method) => method(file.real $(, $argument)*),
                    None => $missing,
                }
            }
        }
    };
}

after_writing_kept!(read, xRead, ffi::SQLITE_IOERR_READ, (data: *mut c_void, amount: c_int, offset: i64));
after_writing_kept!(truncate, xTruncate, ffi::SQLITE_IOERR_TRUNCATE, (size: i64));
after_writing_kept!(file_size, xFileSize, ffi::SQLITE_IOERR_FSTAT, (size: *mut i64));
after_writing_kept!(file_control, xFileControl, ffi::SQLITE_NOTFOUND, (op: c_int, argument: *mut c_void));
after_writing_kept!(sync_now, xSync, ffi::SQLITE_IOERR_FSYNC, (flags: c_int));

unsafe extern "C" fn sync(file: *mut ffi::sqlite3_file, flags: c_int) -> c_int {
    // With `synchronous=FULL` SQLite may sync inside a commit's last frame and write the rest of it after, so the
    // write after a sync is written at once.
    unsafe {
        gathering(file).write_after_next = true;
        sync_now(file, flags)
    }
}

/// Passes a call that neither reads nor writes the file's bytes straight to the real file.
macro_rules! pass_through {
    ($name:ident, $method:ident, $missing:expr, ($($argument:ident: $type:ty),*) -> $returns:ty) => {
        unsafe extern "C" fn $name(file: *mut ffi::sqlite3_file $(, $argument: $type)*) -> $returns {
            unsafe {
                let file = gathering(file);
                match real_methods(file).$method {
                    Some(method) => method(file.real $(, $argument)*),
                    None => $missing,
                }
            }
        }
    };
}

pass_through!(lock, xLock, ffi::SQLITE_OK, (level: c_int) -> c_int);
pass_through!(unlock, xUnlock, ffi::SQLITE_OK, (level: c_int) -> c_int);
pass_through!(check_reserved_lock, xCheckReservedLock, ffi::SQLITE_OK, (out: *mut c_int) -> c_int);
pass_through!(sector_size, xSectorSize, 4096, () -> c_int);
pass_through!(device_characteristics, xDeviceCharacteristics, 0, () -> c_int);
pass_through!(shm_map, xShmMap, ffi::SQLITE_IOERR_SHMMAP,
    (page: c_int, page_size: c_int, extend: c_int, out: *mut *mut c_void) -> c_int);
pass_through!(shm_lock, xShmLock, ffi::SQLITE_IOERR_SHMLOCK, (offset: c_int, count: c_int, flags: c_int) -> c_int);
pass_through!(shm_unmap, xShmUnmap, ffi::SQLITE_OK, (delete: c_int) -> c_int);
pass_through!(fetch, xFetch, ffi::SQLITE_OK, (offset: i64, amount: c_int, out: *mut *mut c_void) -> c_int);
pass_through!(unfetch, xUnfetch, ffi::SQLITE_OK, (offset: i64, page: *mut c_void) -> c_int);

unsafe extern "C" fn shm_barrier(file: *mut ffi::sqlite3_file) {
    unsafe {
        let file = gathering(file);
        if let Some(barrier) = real_methods(file).xShmBarrier {
            barrier(file.real);
        }
    }
}

#[cfg(test)]
mod tests {
    use rusqlite::{Connection, OpenFlags, params};

    use super::*;

    fn open_gathering(path: &std::path::Path) -> Connection {
        register().expect("register");
        let flags = OpenFlags::SQLITE_OPEN_READ_WRITE | OpenFlags::SQLITE_OPEN_CREATE;
        let conn = Connection::open_with_flags_and_vfs(path, flags, NAME).expect("open");
        conn.pragma_update(None, "journal_mode", "WAL").expect("wal");
        conn.pragma_update(None, "synchronous", "NORMAL").expect("sync");
        conn.pragma_update(None, "wal_autocheckpoint", 0)
            .expect("no checkpoints");
        conn
    }

    /// Commits `batches` transactions of `rows` rows of 1,000 random bytes, checking after each that another
    /// connection (SQLite's own VFS) reads every row, and runs checkpoints from a third now and then.
    fn commit_and_read(rows: i64, batches: i64) {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("gather.db");
        let mut writer = open_gathering(&path);
        writer
            .execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB NOT NULL)")
            .expect("create");
        let reader = Connection::open(&path).expect("reader");
        let checkpointer = Connection::open(&path).expect("checkpointer");
        for batch in 0..batches {
            let tx = writer.transaction().expect("begin");
            for row in 0..rows {
                tx.execute(
                    "INSERT INTO t (id, body) VALUES (?1, randomblob(1000))",
                    params![batch * rows + row],
                )
                .expect("insert");
            }
            tx.commit().expect("commit");
            let (count, bytes): (i64, i64) = reader
                .query_row("SELECT count(*), sum(length(body)) FROM t", [], |row| {
                    Ok((row.get(0)?, row.get(1)?))
                })
                .expect("count");
            assert_eq!((count, bytes), ((batch + 1) * rows, (batch + 1) * rows * 1000));
            if batch % 7 == 6 {
                checkpointer
                    .query_row("PRAGMA wal_checkpoint(PASSIVE)", [], |_| Ok(()))
                    .expect("checkpoint");
            }
        }
        let check: String = reader
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .expect("check");
        assert_eq!(check, "ok");
    }

    #[test]
    fn commits_are_in_the_wal_for_other_connections() {
        commit_and_read(64, 50);
    }

    #[test]
    fn a_commit_larger_than_one_write_is_written_in_steps() {
        // About 300 KB of frames per commit, where one write takes at most 128 KiB.
        commit_and_read(300, 6);
    }

    #[test]
    fn the_wal_restarts_after_a_full_checkpoint() {
        let dir = tempfile::tempdir().expect("dir");
        let path = dir.path().join("restart.db");
        let writer = open_gathering(&path);
        writer
            .execute_batch("CREATE TABLE t (id INTEGER PRIMARY KEY, body BLOB)")
            .expect("create");
        let reader = Connection::open(&path).expect("reader");
        for round in 0..5_i64 {
            for row in 0..20_i64 {
                writer
                    .execute(
                        "INSERT INTO t (id, body) VALUES (?1, randomblob(3000))",
                        params![round * 20 + row],
                    )
                    .expect("insert");
            }
            writer
                .query_row("PRAGMA wal_checkpoint(TRUNCATE)", [], |_| Ok(()))
                .expect("truncate");
            let count: i64 = reader
                .query_row("SELECT count(*) FROM t", [], |row| row.get(0))
                .expect("count");
            assert_eq!(count, (round + 1) * 20);
        }
        drop(writer);
        let check: String = reader
            .query_row("PRAGMA integrity_check", [], |row| row.get(0))
            .expect("check");
        assert_eq!(check, "ok");
    }
}
