//! Reading the alerts of `sensor run` in assertions: `event.kind: "alert"` lines with the rule,
//! the login they are about, and the SSH session they were joined to (`sensor.session`).
use serde_json::Value;

use crate::record::{str_at, u32_at};

/// The Linux detection document's rule, verbatim: a password `ssh_login` from 10.0.0.0/8
/// (failed attempts included, as in Elastic).
pub const LATERAL_MOVEMENT_T1021: &str = "ec5fb1d6-1f59-428e-bfb0-0086cb81fded";
/// A successful password or keyboard-interactive login from an internal network, loopback
/// included: what the document's validation (`ssh $(whoami)@localhost`) raises.
pub const PASSWORD_LOGIN_INTERNAL: &str = "5b0a4c1e-6f7d-4d0b-9a59-3c2f8e1d7a40";
/// Five failed logins then a success from one address.
pub const BRUTE_FORCE_THEN_SUCCESS: &str = "0d8c6b7e-2a45-4f0e-8e0b-7c1f9a3d5e21";
/// A session flagged for lateral movement runs ssh, scp, Impacket, nxc, evil-winrm, ….
pub const LATERAL_MOVEMENT_CHAIN: &str = "3c9e4b7a-1d2f-4e8a-9b6c-5f0a7d8e2c14";
/// The SMB/RPC tools (Impacket, nxc, evil-winrm, smbclient, winexe) in a flagged session: split
/// out of [`LATERAL_MOVEMENT_CHAIN`] by the shipped rules (`smb_lateral_movement_chain.toml`).
pub const SMB_LATERAL_MOVEMENT_CHAIN: &str = "6a1f0c3d-8e2b-4c7a-b5d9-0e4f2a6c8b31";
/// A record that claims to be sshd's but is not.
pub const FORGED_SSHD_RECORD: &str = "8f3e2d1c-4b5a-4c6d-9e7f-1a2b3c4d5e6f";

/// The rules whose alert says "lateral movement" (the forged-record rule is not one of them).
pub const LATERAL_RULES: [&str; 5] = [
    LATERAL_MOVEMENT_T1021,
    PASSWORD_LOGIN_INTERNAL,
    BRUTE_FORCE_THEN_SUCCESS,
    LATERAL_MOVEMENT_CHAIN,
    SMB_LATERAL_MOVEMENT_CHAIN,
];

/// `event.kind == "alert"`.
pub fn is_alert(r: &Value) -> bool {
    str_at(r, "/event/kind") == Some("alert")
}

/// `rule.id` of an alert.
pub fn rule_id(r: &Value) -> Option<&str> {
    is_alert(r).then(|| str_at(r, "/rule/id")).flatten()
}

/// An alert of rule `id`.
pub fn is_alert_of(r: &Value, id: &str) -> bool {
    rule_id(r) == Some(id)
}

/// An alert of one of the [`LATERAL_RULES`].
pub fn is_lateral(r: &Value) -> bool {
    rule_id(r).is_some_and(|id| LATERAL_RULES.contains(&id))
}

/// `sensor.alert.id`: the same match always gets the same id.
pub fn alert_id(r: &Value) -> Option<&str> {
    str_at(r, "/sensor/alert/id")
}

/// `sensor.session.id`: the entity id of the SSH connection's sshd (its entry leader), on an
/// alert, on the process records of a flagged session, and on its summary.
pub fn session_id(r: &Value) -> Option<&str> {
    str_at(r, "/sensor/session/id")
}

/// `sensor.alert.process_context`: `joined`, `not_found` or `missing`.
pub fn process_context(r: &Value) -> Option<&str> {
    str_at(r, "/sensor/alert/process_context")
}

/// The login an alert or record is about: (`source.ip`, `source.port`).
pub fn source(r: &Value) -> Option<(&str, u32)> {
    Some((str_at(r, "/source/ip")?, u32_at(r, "/source/port")?))
}

/// The `args` of each command of `sensor.session.commands` (`[{"pid", "name", "args"}, …]`).
pub fn session_commands(r: &Value) -> Vec<Vec<&str>> {
    let Some(commands) = r
        .pointer("/sensor/session/commands")
        .and_then(Value::as_array)
    else {
        return Vec::new();
    };
    commands
        .iter()
        .filter_map(|c| c.get("args")?.as_array())
        .map(|args| args.iter().filter_map(Value::as_str).collect())
        .collect()
}

/// The session summary (`event.action: "ssh_session_summary"`) of session `id`.
pub fn is_summary_of(r: &Value, id: &str) -> bool {
    str_at(r, "/event/action") == Some("ssh_session_summary") && session_id(r) == Some(id)
}

/// A successful `ssh_login` record (not an alert) of `user` whose provenance is `verdict`.
pub fn is_login(r: &Value, user: &str, method: &str, verdict: &str) -> bool {
    !is_alert(r)
        && str_at(r, "/event/action") == Some("ssh_login")
        && str_at(r, "/event/outcome") == Some("success")
        && str_at(r, "/user/name") == Some(user)
        && str_at(r, "/ssh/method") == Some(method)
        && str_at(r, "/sensor/provenance/verdict") == Some(verdict)
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_an_alert_and_its_session() {
        let a = json!({
            "event": {"kind": "alert", "action": "ssh_login"},
            "rule": {"id": LATERAL_MOVEMENT_T1021},
            "source": {"ip": "10.0.0.2", "port": 40000},
            "sensor": {
                "alert": {"id": "ab12", "process_context": "joined"},
                "session": {"id": "5-10", "commands": [
                    {"pid": 7, "name": "bash", "args": ["bash", "-c", "whoami"]},
                    {"pid": 7, "name": "whoami", "args": ["whoami"]},
                ]},
            },
        });
        assert!(is_alert_of(&a, LATERAL_MOVEMENT_T1021) && is_lateral(&a));
        assert_eq!(
            (alert_id(&a), session_id(&a), process_context(&a)),
            (Some("ab12"), Some("5-10"), Some("joined"))
        );
        assert_eq!(source(&a), Some(("10.0.0.2", 40000)));
        assert_eq!(
            session_commands(&a),
            vec![vec!["bash", "-c", "whoami"], vec!["whoami"]]
        );
        let record = json!({"event": {"kind": "event"}, "rule": {"id": LATERAL_MOVEMENT_T1021}});
        assert!(!is_alert(&record) && rule_id(&record).is_none());
        let forged = json!({"event": {"kind": "alert"}, "rule": {"id": FORGED_SSHD_RECORD}});
        assert!(!is_lateral(&forged));
    }
}
