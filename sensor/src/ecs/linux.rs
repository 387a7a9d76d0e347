//! [`Document`] for the Linux events: sshd login records and kernel process events.
use crate::detect::kql::{Document, FieldId, Value};
use crate::record::{AuthRecord, ProcessRecord, Related};

use super::{Event, Field};

/// Runs `test` on one optional string.
fn str(value: Option<&str>, test: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
    value.is_some_and(|v| test(Value::Str(v)))
}

fn strs<'a>(
    values: impl IntoIterator<Item = &'a str>,
    test: &mut dyn FnMut(Value<'_>) -> bool,
) -> bool {
    values.into_iter().any(|v| test(Value::Str(v)))
}

fn int(value: Option<i64>, test: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
    value.is_some_and(|v| test(Value::Int(v)))
}

impl Document for AuthRecord {
    fn any_value(&self, field: FieldId, test: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
        let Some(field) = Field::from_id(field) else {
            return false;
        };
        let ssh = self.system.as_ref().map(|s| &s.auth.ssh);
        match field {
            Field::Timestamp => test(Value::Str(&self.timestamp)),
            Field::Message => test(Value::Str(&self.message)),
            Field::EventKind => test(Value::Str(self.event.kind)),
            Field::EventCategory => strs(self.event.category.iter().copied(), test),
            Field::EventType => strs(self.event.kind_of.iter().copied(), test),
            Field::EventAction => test(Value::Str(self.event.action)),
            Field::EventOutcome => str(self.event.outcome, test),
            Field::EventDataset => test(Value::Str(self.event.dataset)),
            Field::EventModule => test(Value::Str(self.event.module)),
            Field::HostHostname | Field::HostName => {
                str(self.host.as_ref().map(|h| h.hostname.as_str()), test)
            }
            Field::UserName => str(self.user.as_ref().map(|u| u.name.as_str()), test),
            Field::SourceIp => self.source.as_ref().is_some_and(|s| test(Value::Ip(s.ip))),
            Field::SourcePort => int(self.source.as_ref().map(|s| i64::from(s.port)), test),
            Field::RelatedIp => self.related.ip.iter().any(|ip| test(Value::Ip(*ip))),
            Field::RelatedUser => strs(self.related.user.iter().map(String::as_str), test),
            Field::SshMethod => str(self.ssh.as_ref().map(|s| s.method.as_str()), test),
            Field::SystemAuthSshEvent => str(ssh.map(|s| s.event), test),
            Field::SystemAuthSshMethod => str(ssh.and_then(|s| s.method.as_deref()), test),
            Field::SystemAuthSshSignature => str(ssh.and_then(|s| s.signature.as_deref()), test),
            Field::ProcessPid => int(self.process.pid.map(i64::from), test),
            Field::ProcessEntityId => str(self.process.entity_id.as_deref(), test),
            Field::ProcessName => str(self.process.name.as_deref(), test),
            Field::ProcessExecutable => str(self.process.executable.as_deref(), test),
            Field::SensorLogSource => test(Value::Str(self.sensor.log_source)),
            Field::SensorProvenance => test(Value::Str(self.sensor.provenance.verdict())),
            Field::SensorProvenanceReason => str(self.sensor.provenance.reason(), test),
            _ => false,
        }
    }
}

impl Event for AuthRecord {
    fn timestamp(&self) -> &str {
        &self.timestamp
    }
}

fn related(r: Option<&Related>, field: Field, test: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
    let Some(r) = r else {
        return false;
    };
    match field {
        Field::ProcessParentEntityId | Field::ProcessEntryLeaderEntityId => {
            str(r.entity_id.as_deref(), test)
        }
        Field::ProcessParentPid | Field::ProcessEntryLeaderPid => test(Value::Int(r.pid.into())),
        Field::ProcessParentName | Field::ProcessEntryLeaderName => str(r.name.as_deref(), test),
        Field::ProcessParentExecutable | Field::ProcessEntryLeaderExecutable => {
            str(r.executable.as_deref(), test)
        }
        _ => false,
    }
}

impl Document for ProcessRecord {
    fn any_value(&self, field: FieldId, test: &mut dyn FnMut(Value<'_>) -> bool) -> bool {
        let Some(field) = Field::from_id(field) else {
            return false;
        };
        let p = &self.process;
        match field {
            Field::Timestamp => test(Value::Str(&self.timestamp)),
            Field::EventKind => test(Value::Str(self.event.kind)),
            Field::EventCategory => strs(self.event.category.iter().copied(), test),
            Field::EventType => strs(self.event.kind_of.iter().copied(), test),
            Field::EventAction => test(Value::Str(self.event.action)),
            Field::EventDataset => test(Value::Str(self.event.dataset)),
            Field::EventModule => test(Value::Str(self.event.module)),
            Field::ProcessEntityId => test(Value::Str(&p.entity_id)),
            Field::ProcessPid => test(Value::Int(p.pid.into())),
            Field::ProcessName => test(Value::Str(&p.name)),
            Field::ProcessExecutable => str(p.executable.as_deref(), test),
            Field::ProcessArgs => strs(p.args.iter().map(String::as_str), test),
            Field::ProcessArgsCount => int(i64::try_from(p.args_count).ok(), test),
            Field::ProcessExitCode => int(p.exit_code.map(i64::from), test),
            Field::ProcessUserId | Field::UserId => str(p.user.id.as_deref(), test),
            Field::ProcessParentEntityId
            | Field::ProcessParentPid
            | Field::ProcessParentName
            | Field::ProcessParentExecutable => related(p.parent.as_ref(), field, test),
            Field::ProcessEntryLeaderEntityId
            | Field::ProcessEntryLeaderPid
            | Field::ProcessEntryLeaderName
            | Field::ProcessEntryLeaderExecutable => related(p.entry_leader.as_ref(), field, test),
            Field::SensorSessionId => {
                str(self.sensor.as_ref().map(|s| s.session.id.as_str()), test)
            }
            Field::SensorSessionAlertId => str(
                self.sensor.as_ref().map(|s| s.session.alert_id.as_str()),
                test,
            ),
            _ => false,
        }
    }
}

impl Event for ProcessRecord {
    fn timestamp(&self) -> &str {
        &self.timestamp
    }
}
