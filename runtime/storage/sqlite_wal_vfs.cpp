#include "runtime/storage/sqlite_wal_vfs.h"

#include <algorithm>
#include <cstring>
#include <mutex>
#include <new>
#include <string>

#include <sqlite3.h>

namespace waflow::storage::sql {
namespace {

// What is gathered is written out at once past this size, whatever comes next.
constexpr std::size_t kMaxGathered = 4 << 20;

sqlite3_vfs* g_default = nullptr;  // The VFS every call goes on to.
sqlite3_vfs g_vfs;                 // Ours: the default's, with our xOpen.

// The writes gathered for a WAL file: `bytes` belong at offset `start`.
struct Gathered {
  std::string bytes;
  sqlite3_int64 start = 0;
};

// The file SQLite gets from us: its methods are ours, and the default VFS's
// file lives in the memory right after it (szOsFile covers both).
struct File {
  sqlite3_file base;
  sqlite3_file* real;
  Gathered* gathered;  // WAL files only; null for the others.
};

File* file_of(sqlite3_file* f) {
  return reinterpret_cast<File*>(f);
}
sqlite3_file* real_of(sqlite3_file* f) {
  return file_of(f)->real;
}

int write_out(File* f) {
  Gathered* g = f->gathered;
  if (g == nullptr || g->bytes.empty()) {
    return SQLITE_OK;
  }
  // The default VFS writes less than 128 KiB per call (it masks the length
  // to 17 bits), so larger runs go out in pieces.
  constexpr std::size_t kPiece = 124 << 10;
  int rc = SQLITE_OK;
  for (std::size_t at = 0; at < g->bytes.size() && rc == SQLITE_OK; at += kPiece) {
    const std::size_t n = std::min(kPiece, g->bytes.size() - at);
    rc = f->real->pMethods->xWrite(f->real, g->bytes.data() + at, static_cast<int>(n),
                                   g->start + static_cast<sqlite3_int64>(at));
  }
  g->bytes.clear();
  return rc;
}

int x_close(sqlite3_file* file) {
  File* f = file_of(file);
  const int written = write_out(f);
  const int closed = f->real->pMethods->xClose(f->real);
  delete f->gathered;
  f->gathered = nullptr;
  return written != SQLITE_OK ? written : closed;
}

int x_read(sqlite3_file* file, void* out, int amount, sqlite3_int64 offset) {
  File* f = file_of(file);
  if (const int rc = write_out(f); rc != SQLITE_OK) {
    return rc;
  }
  return f->real->pMethods->xRead(f->real, out, amount, offset);
}

int x_write(sqlite3_file* file, const void* data, int amount, sqlite3_int64 offset) {
  File* f = file_of(file);
  Gathered* g = f->gathered;
  if (g == nullptr) {
    return f->real->pMethods->xWrite(f->real, data, amount, offset);
  }
  const auto size = static_cast<std::size_t>(amount);
  const auto end = g->start + static_cast<sqlite3_int64>(g->bytes.size());
  const char* bytes = static_cast<const char*>(data);
  if (!g->bytes.empty() && offset >= g->start && offset + amount <= end) {
    // A frame written again within the transaction: replace it in place.
    std::memcpy(g->bytes.data() + (offset - g->start), bytes, size);
    return SQLITE_OK;
  }
  if (!g->bytes.empty() && offset != end) {
    if (const int rc = write_out(f); rc != SQLITE_OK) {
      return rc;
    }
  }
  if (g->bytes.empty()) {
    g->start = offset;
  }
  try {
    g->bytes.append(bytes, size);
  } catch (const std::bad_alloc&) {
    return SQLITE_IOERR_NOMEM;
  }
  return g->bytes.size() >= kMaxGathered ? write_out(f) : SQLITE_OK;
}

int x_truncate(sqlite3_file* file, sqlite3_int64 size) {
  File* f = file_of(file);
  if (const int rc = write_out(f); rc != SQLITE_OK) {
    return rc;
  }
  return f->real->pMethods->xTruncate(f->real, size);
}

int x_sync(sqlite3_file* file, int flags) {
  File* f = file_of(file);
  if (const int rc = write_out(f); rc != SQLITE_OK) {
    return rc;
  }
  return f->real->pMethods->xSync(f->real, flags);
}

int x_file_size(sqlite3_file* file, sqlite3_int64* size) {
  File* f = file_of(file);
  if (const int rc = write_out(f); rc != SQLITE_OK) {
    return rc;
  }
  return f->real->pMethods->xFileSize(f->real, size);
}

// The rest goes on unchanged.
int x_lock(sqlite3_file* file, int level) {
  return real_of(file)->pMethods->xLock(real_of(file), level);
}
int x_unlock(sqlite3_file* file, int level) {
  return real_of(file)->pMethods->xUnlock(real_of(file), level);
}
int x_check_reserved_lock(sqlite3_file* file, int* out) {
  return real_of(file)->pMethods->xCheckReservedLock(real_of(file), out);
}
int x_file_control(sqlite3_file* file, int op, void* arg) {
  return real_of(file)->pMethods->xFileControl(real_of(file), op, arg);
}
int x_sector_size(sqlite3_file* file) {
  return real_of(file)->pMethods->xSectorSize(real_of(file));
}
int x_device_characteristics(sqlite3_file* file) {
  return real_of(file)->pMethods->xDeviceCharacteristics(real_of(file));
}
int x_shm_map(sqlite3_file* file, int region, int size, int extend, void volatile** out) {
  return real_of(file)->pMethods->xShmMap(real_of(file), region, size, extend, out);
}
int x_shm_lock(sqlite3_file* file, int offset, int n, int flags) {
  return real_of(file)->pMethods->xShmLock(real_of(file), offset, n, flags);
}
void x_shm_barrier(sqlite3_file* file) {
  real_of(file)->pMethods->xShmBarrier(real_of(file));
}
int x_shm_unmap(sqlite3_file* file, int delete_flag) {
  return real_of(file)->pMethods->xShmUnmap(real_of(file), delete_flag);
}
int x_fetch(sqlite3_file* file, sqlite3_int64 offset, int amount, void** out) {
  return real_of(file)->pMethods->xFetch(real_of(file), offset, amount, out);
}
int x_unfetch(sqlite3_file* file, sqlite3_int64 offset, void* page) {
  return real_of(file)->pMethods->xUnfetch(real_of(file), offset, page);
}

const sqlite3_io_methods kMethods = {
    3,
    x_close,
    x_read,
    x_write,
    x_truncate,
    x_sync,
    x_file_size,
    x_lock,
    x_unlock,
    x_check_reserved_lock,
    x_file_control,
    x_sector_size,
    x_device_characteristics,
    x_shm_map,
    x_shm_lock,
    x_shm_barrier,
    x_shm_unmap,
    x_fetch,
    x_unfetch,
};

int x_open(sqlite3_vfs*, sqlite3_filename name, sqlite3_file* file, int flags, int* out_flags) {
  File* f = file_of(file);
  f->base.pMethods = nullptr;  // SQLite calls no xClose when xOpen fails.
  f->real = reinterpret_cast<sqlite3_file*>(reinterpret_cast<char*>(file) + sizeof(File));
  f->gathered = nullptr;
  int rc = g_default->xOpen(g_default, name, f->real, flags, out_flags);
  if (rc != SQLITE_OK) {
    return rc;
  }
  // Ours only where the default's has every method we pass on.
  if (f->real->pMethods == nullptr || f->real->pMethods->iVersion < 3) {
    if (f->real->pMethods != nullptr) {
      f->real->pMethods->xClose(f->real);
    }
    return SQLITE_CANTOPEN;
  }
  if ((flags & SQLITE_OPEN_WAL) != 0) {
    f->gathered = new (std::nothrow) Gathered;
    if (f->gathered == nullptr) {
      f->real->pMethods->xClose(f->real);
      return SQLITE_NOMEM;
    }
  }
  f->base.pMethods = &kMethods;
  return SQLITE_OK;
}

}  // namespace

const char* gathered_wal_vfs() {
  static std::once_flag registered;
  std::call_once(registered, [] {
    g_default = sqlite3_vfs_find(nullptr);
    g_vfs = *g_default;  // Every other call goes to the default's own functions.
    g_vfs.pNext = nullptr;
    g_vfs.zName = "waflow-gathered-wal";
    g_vfs.szOsFile = static_cast<int>(sizeof(File)) + g_default->szOsFile;
    g_vfs.xOpen = x_open;
    sqlite3_vfs_register(&g_vfs, 0);
  });
  return g_vfs.zName;
}

}  // namespace waflow::storage::sql
