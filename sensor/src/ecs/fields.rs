//! The ECS fields rules may name: one catalogue for every event the sensor makes (sshd login
//! records, kernel process events, Windows event log records), with Elastic's types.
//!
//! Names follow ECS 8.x (<https://www.elastic.co/guide/en/ecs/current/ecs-field-reference.html>)
//! and, where ECS has no field, Filebeat's and Winlogbeat's (`system.auth.ssh.*`, `winlog.*`),
//! so that queries written for Elastic run unchanged. A [`Field`]'s discriminant is its
//! [`FieldId`] index in [`schema()`]: events answer a query with a `match`, never a lookup.
use std::sync::OnceLock;

use crate::detect::kql::{FieldId, FieldType, Schema};

macro_rules! catalogue {
    ($($variant:ident = $name:literal, $ty:ident $(, $multi:ident)?;)*) => {
        /// One ECS field.
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        pub enum Field {
            $($variant,)*
        }

        impl Field {
            /// Every field, in [`FieldId`] order.
            pub const ALL: &[Field] = &[$(Field::$variant,)*];

            /// The dotted path queries write.
            pub const fn name(self) -> &'static str {
                match self {
                    $(Field::$variant => $name,)*
                }
            }

            /// Elastic's mapping type of the field.
            pub const fn ty(self) -> FieldType {
                match self {
                    $(Field::$variant => FieldType::$ty,)*
                }
            }

            /// True if an event may hold several values (an ECS array).
            pub const fn multi_valued(self) -> bool {
                match self {
                    $(Field::$variant => catalogue!(@multi $($multi)?),)*
                }
            }
        }
    };
    (@multi multi) => { true };
    (@multi) => { false };
}

catalogue! {
    Timestamp = "@timestamp", Date;
    Message = "message", Keyword;

    EventKind = "event.kind", Keyword;
    EventCategory = "event.category", Keyword, multi;
    EventType = "event.type", Keyword, multi;
    EventAction = "event.action", Keyword;
    EventOutcome = "event.outcome", Keyword;
    EventDataset = "event.dataset", Keyword;
    EventModule = "event.module", Keyword;
    EventCode = "event.code", Keyword;
    EventProvider = "event.provider", Keyword;

    HostName = "host.name", Keyword;
    HostHostname = "host.hostname", Keyword;

    UserName = "user.name", Keyword;
    UserId = "user.id", Keyword;
    UserDomain = "user.domain", Keyword;

    SourceIp = "source.ip", Ip;
    SourcePort = "source.port", Long;
    DestinationIp = "destination.ip", Ip;
    DestinationPort = "destination.port", Long;
    NetworkTransport = "network.transport", Keyword;
    NetworkProtocol = "network.protocol", Keyword;
    NetworkDirection = "network.direction", Keyword;

    RelatedIp = "related.ip", Ip, multi;
    RelatedUser = "related.user", Keyword, multi;

    SshMethod = "ssh.method", Keyword;
    SystemAuthSshEvent = "system.auth.ssh.event", Keyword;
    SystemAuthSshMethod = "system.auth.ssh.method", Keyword;
    SystemAuthSshSignature = "system.auth.ssh.signature", Keyword;

    ProcessEntityId = "process.entity_id", Keyword;
    ProcessPid = "process.pid", Long;
    ProcessName = "process.name", Keyword;
    ProcessExecutable = "process.executable", Keyword;
    ProcessArgs = "process.args", Keyword, multi;
    ProcessArgsCount = "process.args_count", Long;
    ProcessCommandLine = "process.command_line", Keyword;
    ProcessWorkingDirectory = "process.working_directory", Keyword;
    ProcessExitCode = "process.exit_code", Long;
    ProcessUserId = "process.user.id", Keyword;
    ProcessPeOriginalFileName = "process.pe.original_file_name", Keyword;
    ProcessHashSha256 = "process.hash.sha256", Keyword;
    ProcessParentEntityId = "process.parent.entity_id", Keyword;
    ProcessParentPid = "process.parent.pid", Long;
    ProcessParentName = "process.parent.name", Keyword;
    ProcessParentExecutable = "process.parent.executable", Keyword;
    ProcessParentCommandLine = "process.parent.command_line", Keyword;
    ProcessEntryLeaderEntityId = "process.entry_leader.entity_id", Keyword;
    ProcessEntryLeaderPid = "process.entry_leader.pid", Long;
    ProcessEntryLeaderName = "process.entry_leader.name", Keyword;
    ProcessEntryLeaderExecutable = "process.entry_leader.executable", Keyword;

    FilePath = "file.path", Keyword;
    FileName = "file.name", Keyword;
    FileDirectory = "file.directory", Keyword;
    RegistryPath = "registry.path", Keyword;
    RegistryKey = "registry.key", Keyword;
    RegistryValue = "registry.value", Keyword;
    RegistryDataStrings = "registry.data.strings", Keyword, multi;
    ServiceName = "service.name", Keyword;
    ServiceType = "service.type", Keyword;

    WinlogChannel = "winlog.channel", Keyword;
    WinlogEventId = "winlog.event_id", Keyword;
    WinlogProviderName = "winlog.provider_name", Keyword;
    WinlogComputerName = "winlog.computer_name", Keyword;
    WinlogRecordId = "winlog.record_id", Long;
    WinlogEventDataServiceFileName = "winlog.event_data.ServiceFileName", Keyword;
    WinlogEventDataImagePath = "winlog.event_data.ImagePath", Keyword;
    WinlogEventDataShareName = "winlog.event_data.ShareName", Keyword;
    WinlogEventDataRelativeTargetName = "winlog.event_data.RelativeTargetName", Keyword;
    WinlogEventDataPipeName = "winlog.event_data.PipeName", Keyword;
    // More of what Winlogbeat's Sysmon and Security pipelines write (`ecs::windows`). A
    // `winlog.event_data.*` field is answered from the record's EventData by its name.
    ProcessHashMd5 = "process.hash.md5", Keyword;
    ProcessHashSha1 = "process.hash.sha1", Keyword;
    ProcessPeImphash = "process.pe.imphash", Keyword;
    ProcessPeCompany = "process.pe.company", Keyword;
    ProcessPeDescription = "process.pe.description", Keyword;
    ProcessPeProduct = "process.pe.product", Keyword;
    ProcessPeFileVersion = "process.pe.file_version", Keyword;
    FileExtension = "file.extension", Keyword;
    RegistryHive = "registry.hive", Keyword;
    RegistryDataType = "registry.data.type", Keyword;
    SourceDomain = "source.domain", Keyword;
    DestinationDomain = "destination.domain", Keyword;
    NetworkType = "network.type", Keyword;
    WinlogUserIdentifier = "winlog.user.identifier", Keyword;
    WinlogProcessPid = "winlog.process.pid", Long;
    WinlogEventDataServiceName = "winlog.event_data.ServiceName", Keyword;
    WinlogEventDataServiceType = "winlog.event_data.ServiceType", Keyword;
    WinlogEventDataStartType = "winlog.event_data.StartType", Keyword;
    WinlogEventDataAccountName = "winlog.event_data.AccountName", Keyword;
    WinlogEventDataServiceAccount = "winlog.event_data.ServiceAccount", Keyword;
    WinlogEventDataShareLocalPath = "winlog.event_data.ShareLocalPath", Keyword;
    WinlogEventDataAccessMask = "winlog.event_data.AccessMask", Keyword;
    WinlogEventDataAccessList = "winlog.event_data.AccessList", Keyword, multi;
    WinlogEventDataIpAddress = "winlog.event_data.IpAddress", Keyword;
    WinlogEventDataSubjectUserName = "winlog.event_data.SubjectUserName", Keyword;
    WinlogEventDataSubjectDomainName = "winlog.event_data.SubjectDomainName", Keyword;
    WinlogEventDataSubjectUserSid = "winlog.event_data.SubjectUserSid", Keyword;
    WinlogEventDataSubjectLogonId = "winlog.event_data.SubjectLogonId", Keyword;
    WinlogEventDataTargetUserName = "winlog.event_data.TargetUserName", Keyword;
    WinlogEventDataNewProcessName = "winlog.event_data.NewProcessName", Keyword;
    WinlogEventDataImage = "winlog.event_data.Image", Keyword;
    WinlogEventDataParentImage = "winlog.event_data.ParentImage", Keyword;
    WinlogEventDataCommandLine = "winlog.event_data.CommandLine", Keyword;
    WinlogEventDataOriginalFileName = "winlog.event_data.OriginalFileName", Keyword;
    WinlogEventDataTargetFilename = "winlog.event_data.TargetFilename", Keyword;
    WinlogEventDataTargetObject = "winlog.event_data.TargetObject", Keyword;
    WinlogEventDataDetails = "winlog.event_data.Details", Keyword;
    WinlogEventDataEventType = "winlog.event_data.EventType", Keyword;
    WinlogEventDataUser = "winlog.event_data.User", Keyword;
    WinlogEventDataRuleName = "winlog.event_data.RuleName", Keyword;
    WinlogEventDataLogonType = "winlog.event_data.LogonType", Keyword;

    SensorLogSource = "sensor.log_source", Keyword;
    SensorProvenance = "sensor.provenance.verdict", Keyword;
    SensorProvenanceReason = "sensor.provenance.reason", Keyword;
    SensorSessionId = "sensor.session.id", Keyword;
    SensorSessionAlertId = "sensor.session.alert_id", Keyword;
}

impl Field {
    /// The field a schema id stands for (ids come from [`schema()`]).
    pub fn from_id(id: FieldId) -> Option<Self> {
        Self::ALL.get(id.index()).copied()
    }
}

/// The schema queries compile against: every [`Field`], ids in declaration order.
pub fn schema() -> &'static Schema {
    static SCHEMA: OnceLock<Schema> = OnceLock::new();
    SCHEMA.get_or_init(|| {
        let mut schema = Schema::new();
        for field in Field::ALL {
            schema.add(field.name(), field.ty(), field.multi_valued());
        }
        schema
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ids_are_declaration_order_and_names_unique() {
        let schema = schema();
        assert_eq!(schema.len(), Field::ALL.len(), "a name appears twice");
        for (i, field) in Field::ALL.iter().enumerate() {
            let id = schema
                .id(field.name())
                .expect("every field is in the schema");
            assert_eq!(id.index(), i, "{}", field.name());
            assert_eq!(Field::from_id(id), Some(*field));
        }
    }
}
