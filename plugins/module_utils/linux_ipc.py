# -*- coding: utf-8 -*-
# Copyright: pghost.hardening developers
# GNU General Public License v3.0+ (see LICENSE or https://www.gnu.org/licenses/gpl-3.0.txt)
"""The thin OS layer of the IPC cleanup (Linux): shmat/shmdt/shmctl/semctl
through ctypes, and unlink. Kept apart so every decision is a pure function
that unit tests run without a kernel."""

from __future__ import annotations

import ctypes
import os

# Linux <sys/ipc.h>, <sys/shm.h>, <sys/sem.h> (bits/ipc.h, bits/shm.h, bits/sem.h)
IPC_RMID = 0
SHM_RDONLY = 0o10000
SEM_GETPID = 11
SEM_GETVAL = 12


class IpcError(Exception):
    """A system call failed; errno is kept for the caller."""

    def __init__(self, message, err=None):
        Exception.__init__(self, message)
        self.errno = err


class LinuxIpc:
    """SysV and POSIX shared memory calls through libc; every method raises IpcError."""

    def __init__(self):
        self._libc = None

    @property
    def libc(self):
        if self._libc is None:
            libc = ctypes.CDLL(None, use_errno=True)
            libc.shmat.restype = ctypes.c_void_p
            libc.shmat.argtypes = [ctypes.c_int, ctypes.c_void_p, ctypes.c_int]
            libc.shmdt.argtypes = [ctypes.c_void_p]
            libc.shmctl.argtypes = [ctypes.c_int, ctypes.c_int, ctypes.c_void_p]
            self._libc = libc
        return self._libc

    def _fail(self, what):
        err = ctypes.get_errno()
        return IpcError("%s: %s" % (what, os.strerror(err)), err)

    def shm_read(self, shmid, size):
        """Attach read-only, copy size bytes from offset 0, detach."""
        addr = self.libc.shmat(shmid, None, SHM_RDONLY)
        if addr is None or addr == ctypes.c_void_p(-1).value:
            raise self._fail("shmat(%d, SHM_RDONLY)" % shmid)
        try:
            return ctypes.string_at(addr, size)
        finally:
            self.libc.shmdt(ctypes.c_void_p(addr))

    def shm_remove(self, shmid):
        if self.libc.shmctl(shmid, IPC_RMID, None) < 0:
            raise self._fail("shmctl(%d, IPC_RMID)" % shmid)

    def sem_value_and_pid(self, semid, semnum):
        """(semval, sempid) of one semaphore: semctl GETVAL and GETPID."""
        value = self.libc.semctl(semid, semnum, SEM_GETVAL)
        if value < 0:
            raise self._fail("semctl(%d, %d, GETVAL)" % (semid, semnum))
        pid = self.libc.semctl(semid, semnum, SEM_GETPID)
        if pid < 0:
            raise self._fail("semctl(%d, %d, GETPID)" % (semid, semnum))
        return value, pid

    def sem_remove(self, semid):
        if self.libc.semctl(semid, 0, IPC_RMID) < 0:
            raise self._fail("semctl(%d, 0, IPC_RMID)" % semid)

    def unlink(self, path):
        try:
            os.unlink(path)
        except OSError as exc:
            raise IpcError("unlink(%s): %s" % (path, exc.strerror), exc.errno)
