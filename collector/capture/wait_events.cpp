#include "wait_events.h"

#include <cstddef>

namespace qprof {

namespace {

struct ClassEvent {
    uint32_t class_id;
    uint32_t event_id;
    const char *name;
};

/* PostgreSQL 15's names, by number: the LWLocks (individual locks, then
 * the built-in tranches), the heavyweight lock tags (LockTagTypeNames) and
 * the events of the classes whose events are an enum (utils/wait_event.h).
 * Made from the server's headers (storage/lwlocknames.h, storage/lwlock.h,
 * storage/lock.h, utils/wait_event.h). */
const char *const kLWLockNames[] = {"",
                                    "ShmemIndex",
                                    "OidGen",
                                    "XidGen",
                                    "ProcArray",
                                    "SInvalRead",
                                    "SInvalWrite",
                                    "WALBufMapping",
                                    "WALWrite",
                                    "ControlFile",
                                    "",
                                    "XactSLRU",
                                    "SubtransSLRU",
                                    "MultiXactGen",
                                    "MultiXactOffsetSLRU",
                                    "MultiXactMemberSLRU",
                                    "RelCacheInit",
                                    "CheckpointerComm",
                                    "TwoPhaseState",
                                    "TablespaceCreate",
                                    "BtreeVacuum",
                                    "AddinShmemInit",
                                    "Autovacuum",
                                    "AutovacuumSchedule",
                                    "SyncScan",
                                    "RelationMapping",
                                    "NotifySLRU",
                                    "NotifyQueue",
                                    "SerializableXactHash",
                                    "SerializableFinishedList",
                                    "SerializablePredicateList",
                                    "SerialSLRU",
                                    "SyncRep",
                                    "BackgroundWorker",
                                    "DynamicSharedMemoryControl",
                                    "AutoFile",
                                    "ReplicationSlotAllocation",
                                    "ReplicationSlotControl",
                                    "CommitTsSLRU",
                                    "CommitTs",
                                    "ReplicationOrigin",
                                    "MultiXactTruncation",
                                    "OldSnapshotTimeMap",
                                    "LogicalRepWorker",
                                    "XactTruncation",
                                    "",
                                    "WrapLimitsVacuum",
                                    "NotifyQueueTail",
                                    "XactBuffer",
                                    "CommitTsBuffer",
                                    "SubtransBuffer",
                                    "MultiXactOffsetBuffer",
                                    "MultiXactMemberBuffer",
                                    "NotifyBuffer",
                                    "SerialBuffer",
                                    "WALInsert",
                                    "BufferContent",
                                    "ReplicationOriginState",
                                    "ReplicationSlotIO",
                                    "LockFastPath",
                                    "BufferMapping",
                                    "LockManager",
                                    "PredicateLockManager",
                                    "ParallelHashJoin",
                                    "ParallelQueryDSA",
                                    "PerSessionDSA",
                                    "PerSessionRecordType",
                                    "PerSessionRecordTypmod",
                                    "SharedTupleStore",
                                    "SharedTidBitmap",
                                    "ParallelAppend",
                                    "PerXactPredicateList",
                                    "PgStatsDSA",
                                    "PgStatsHash",
                                    "PgStatsData"};
const char *const kLockNames[] = {"relation",   "extend",    "frozenid",
                                  "page",       "tuple",     "transactionid",
                                  "virtualxid", "spectoken", "object",
                                  "userlock",   "advisory"};
const ClassEvent kClassEvents[] = {
    {5, 0, "ArchiverMain"},
    {5, 1, "AutoVacuumMain"},
    {5, 2, "BgWriterHibernate"},
    {5, 3, "BgWriterMain"},
    {5, 4, "CheckpointerMain"},
    {5, 5, "LogicalApplyMain"},
    {5, 6, "LogicalLauncherMain"},
    {5, 7, "RecoveryWalStream"},
    {5, 8, "SysLoggerMain"},
    {5, 9, "WalReceiverMain"},
    {5, 10, "WalSenderMain"},
    {5, 11, "WalWriterMain"},
    {6, 0, "ClientRead"},
    {6, 1, "ClientWrite"},
    {6, 2, "GSSOpenServer"},
    {6, 3, "LibPQWalReceiverConnect"},
    {6, 4, "LibPQWalReceiverReceive"},
    {6, 5, "SSLOpenServer"},
    {6, 6, "WalSenderWaitForWAL"},
    {6, 7, "WalSenderWriteData"},
    {8, 0, "AppendReady"},
    {8, 1, "ArchiveCleanupCommand"},
    {8, 2, "ArchiveCommand"},
    {8, 3, "BackendTermination"},
    {8, 4, "BackupWaitWalArchive"},
    {8, 5, "BgWorkerShutdown"},
    {8, 6, "BgWorkerStartup"},
    {8, 7, "BtreePage"},
    {8, 8, "BufferIO"},
    {8, 9, "CheckpointDone"},
    {8, 10, "CheckpointStart"},
    {8, 11, "ExecuteGather"},
    {8, 12, "HashBatchAllocate"},
    {8, 13, "HashBatchElect"},
    {8, 14, "HashBatchLoad"},
    {8, 15, "HashBuildAllocate"},
    {8, 16, "HashBuildElect"},
    {8, 17, "HashBuildHashInner"},
    {8, 18, "HashBuildHashOuter"},
    {8, 19, "HashGrowBatchesAllocate"},
    {8, 20, "HashGrowBatchesDecide"},
    {8, 21, "HashGrowBatchesElect"},
    {8, 22, "HashGrowBatchesFinish"},
    {8, 23, "HashGrowBatchesRepartition"},
    {8, 24, "HashGrowBucketsAllocate"},
    {8, 25, "HashGrowBucketsElect"},
    {8, 26, "HashGrowBucketsReinsert"},
    {8, 27, "LogicalSyncData"},
    {8, 28, "LogicalSyncStateChange"},
    {8, 29, "MessageQueueInternal"},
    {8, 30, "MessageQueuePutMessage"},
    {8, 31, "MessageQueueReceive"},
    {8, 32, "MessageQueueSend"},
    {8, 33, "ParallelBitmapScan"},
    {8, 34, "ParallelCreateIndexScan"},
    {8, 35, "ParallelFinish"},
    {8, 36, "ProcArrayGroupUpdate"},
    {8, 37, "ProcSignalBarrier"},
    {8, 38, "Promote"},
    {8, 39, "RecoveryConflictSnapshot"},
    {8, 40, "RecoveryConflictTablespace"},
    {8, 41, "RecoveryEndCommand"},
    {8, 42, "RecoveryPause"},
    {8, 43, "ReplicationOriginDrop"},
    {8, 44, "ReplicationSlotDrop"},
    {8, 45, "RestoreCommand"},
    {8, 46, "SafeSnapshot"},
    {8, 47, "SyncRep"},
    {8, 48, "WalReceiverExit"},
    {8, 49, "WalReceiverWaitStart"},
    {8, 50, "XactGroupUpdate"},
    {8, 51, "WalReceiverUpstreamCatchup"},
    {9, 0, "BaseBackupThrottle"},
    {9, 1, "CheckpointWriteDelay"},
    {9, 2, "PgSleep"},
    {9, 3, "RecoveryApplyDelay"},
    {9, 4, "RecoveryRetrieveRetryInterval"},
    {9, 5, "RegisterSyncRequest"},
    {9, 6, "VacuumDelay"},
    {9, 7, "VacuumTruncate"},
    {10, 0, "BaseBackupRead"},
    {10, 1, "BaseBackupSync"},
    {10, 2, "BaseBackupWrite"},
    {10, 3, "BufFileRead"},
    {10, 4, "BufFileWrite"},
    {10, 5, "BufFileTruncate"},
    {10, 6, "ControlFileRead"},
    {10, 7, "ControlFileSync"},
    {10, 8, "ControlFileSyncUpdate"},
    {10, 9, "ControlFileWrite"},
    {10, 10, "ControlFileWriteUpdate"},
    {10, 11, "CopyFileRead"},
    {10, 12, "CopyFileWrite"},
    {10, 13, "DataFileExtend"},
    {10, 14, "DataFileFlush"},
    {10, 15, "DataFileImmediateSync"},
    {10, 16, "DataFilePrefetch"},
    {10, 17, "DataFileRead"},
    {10, 18, "DataFileSync"},
    {10, 19, "DataFileTruncate"},
    {10, 20, "DataFileWrite"},
    {10, 21, "DSMFillZeroWrite"},
    {10, 22, "LockFileAddToDataDirRead"},
    {10, 23, "LockFileAddToDataDirSync"},
    {10, 24, "LockFileAddToDataDirWrite"},
    {10, 25, "LockFileCreateRead"},
    {10, 26, "LockFileCreateSync"},
    {10, 27, "LockFileCreateWrite"},
    {10, 28, "LockFileReCheckDataDirRead"},
    {10, 29, "LogicalRewriteCheckpointSync"},
    {10, 30, "LogicalRewriteMappingSync"},
    {10, 31, "LogicalRewriteMappingWrite"},
    {10, 32, "LogicalRewriteSync"},
    {10, 33, "LogicalRewriteTruncate"},
    {10, 34, "LogicalRewriteWrite"},
    {10, 35, "RelationMapRead"},
    {10, 36, "RelationMapSync"},
    {10, 37, "RelationMapWrite"},
    {10, 38, "ReorderBufferRead"},
    {10, 39, "ReorderBufferWrite"},
    {10, 40, "ReorderLogicalMappingRead"},
    {10, 41, "ReplicationSlotRead"},
    {10, 42, "ReplicationSlotRestoreSync"},
    {10, 43, "ReplicationSlotSync"},
    {10, 44, "ReplicationSlotWrite"},
    {10, 45, "SLRUFlushSync"},
    {10, 46, "SLRURead"},
    {10, 47, "SLRUSync"},
    {10, 48, "SLRUWrite"},
    {10, 49, "SnapbuildRead"},
    {10, 50, "SnapbuildSync"},
    {10, 51, "SnapbuildWrite"},
    {10, 52, "TimelineHistoryFileSync"},
    {10, 53, "TimelineHistoryFileWrite"},
    {10, 54, "TimelineHistoryRead"},
    {10, 55, "TimelineHistorySync"},
    {10, 56, "TimelineHistoryWrite"},
    {10, 57, "TwophaseFileRead"},
    {10, 58, "TwophaseFileSync"},
    {10, 59, "TwophaseFileWrite"},
    {10, 60, "VersionFileWrite"},
    {10, 61, "WALSenderTimelineHistoryRead"},
    {10, 62, "WALBootstrapSync"},
    {10, 63, "WALBootstrapWrite"},
    {10, 64, "WALCopyRead"},
    {10, 65, "WALCopySync"},
    {10, 66, "WALCopyWrite"},
    {10, 67, "WALInitSync"},
    {10, 68, "WALInitWrite"},
    {10, 69, "WALRead"},
    {10, 70, "WALSync"},
    {10, 71, "WALSyncMethodAssign"},
    {10, 72, "WALWrite"},
    {10, 73, "VersionFileSync"},
};

} // namespace

const char *wait_event_class_name(uint32_t class_id) {
    switch (class_id) {
    case 0x00:
        return "none";
    case 0x01:
        return "LWLock";
    case 0x03:
        return "Lock";
    case 0x04:
        return "BufferPin";
    case 0x05:
        return "Activity";
    case 0x06:
        return "Client";
    case 0x07:
        return "Extension";
    case 0x08:
        return "IPC";
    case 0x09:
        return "Timeout";
    case 0x0A:
        return "IO";
    }
    return "unknown";
}

std::string wait_event_name(uint32_t wait_event_info) {
    uint32_t class_id = wait_event_info >> 24;
    uint32_t event_id = wait_event_info & 0xFFFF;
    std::string name = std::string(wait_event_class_name(class_id)) + ":";
    switch (class_id) {
    case 0x01:
        if (event_id < sizeof(kLWLockNames) / sizeof(kLWLockNames[0]) &&
            kLWLockNames[event_id][0] != '\0')
            return name + kLWLockNames[event_id];
        return name + "tranche " + std::to_string(event_id);
    case 0x03:
        if (event_id < sizeof(kLockNames) / sizeof(kLockNames[0]))
            return name + kLockNames[event_id];
        break;
    case 0x04:
        return name + "BufferPin";
    case 0x07:
        return name + "Extension";
    default:
        for (const ClassEvent &e : kClassEvents)
            if (e.class_id == class_id && e.event_id == event_id)
                return name + e.name;
    }
    return name + "#" + std::to_string(event_id);
}

} // namespace qprof
