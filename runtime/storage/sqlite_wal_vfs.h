#pragma once

// A VFS over SQLite's default one that gathers a connection's writes to its
// WAL file and hands them to the file system in one write when SQLite syncs
// the WAL. SQLite writes each frame of a commit as two writes (its header and
// its page), so a commit of 30 pages cost 60 system calls; gathered, it costs
// one. The frames reach the file before the sync that makes the commit
// durable, as without it, so what a crash can lose is unchanged.
//
// Only for a connection whose every commit syncs the WAL (synchronous=FULL):
// SQLite makes a commit visible to other connections right after writing its
// frames, and without a sync at that point they would still be in memory.
// Reads, size queries, truncation and closing of the WAL write out what is
// gathered first, so the connection itself always sees the file whole.

namespace waflow::storage::sql {

// The VFS's name for sqlite3_open_v2, registered on first use.
const char* gathered_wal_vfs();

}  // namespace waflow::storage::sql
