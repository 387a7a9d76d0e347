//! Reading the sensor's JSON Lines records (ECS field names) in assertions.
use std::collections::HashMap;

use serde_json::Value;

/// `event.action`: `exec`, `end`, `kernel-events-lost`.
pub fn action(r: &Value) -> Option<&str> {
    r.pointer("/event/action")?.as_str()
}

/// A process record (`event.category` holds `process`).
pub fn is_process(r: &Value) -> bool {
    r.pointer("/event/category")
        .and_then(Value::as_array)
        .is_some_and(|c| c.iter().any(|v| v == "process"))
}

/// A `kernel-events-lost` health record.
pub fn is_loss(r: &Value) -> bool {
    action(r) == Some("kernel-events-lost")
}

/// `process.pid`.
pub fn pid(r: &Value) -> Option<u32> {
    u32_at(r, "/process/pid")
}

/// `process.args`.
pub fn args(r: &Value) -> Option<Vec<&str>> {
    r.pointer("/process/args")?
        .as_array()?
        .iter()
        .map(Value::as_str)
        .collect()
}

/// An `exec` record whose argv is exactly `expected`.
pub fn is_exec_of(r: &Value, expected: &[&str]) -> bool {
    action(r) == Some("exec") && args(r).is_some_and(|a| a == expected)
}

/// A record of `action` for the process `entity_id` (pid and start time: never a reused pid).
pub fn is_action_of(r: &Value, action_name: &str, entity_id: &str) -> bool {
    action(r) == Some(action_name) && id(r) == Some(entity_id)
}

/// `process.entity_id`.
pub fn id(r: &Value) -> Option<&str> {
    str_at(r, "/process/entity_id")
}

/// `process.parent.entity_id`.
pub fn parent_id(r: &Value) -> Option<&str> {
    str_at(r, "/process/parent/entity_id")
}

/// A string field by JSON pointer (`/process/entry_leader/entity_id`).
pub fn str_at<'a>(r: &'a Value, pointer: &str) -> Option<&'a str> {
    r.pointer(pointer)?.as_str()
}

/// A number field by JSON pointer (`/process/parent/pid`).
pub fn u32_at(r: &Value, pointer: &str) -> Option<u32> {
    u32::try_from(r.pointer(pointer)?.as_u64()?).ok()
}

/// `process.entry_leader.entity_id`: which SSH connection the process belongs to.
pub fn leader_id(r: &Value) -> Option<&str> {
    str_at(r, "/process/entry_leader/entity_id")
}

/// `process.user.id` as a number.
pub fn uid(r: &Value) -> Option<u32> {
    str_at(r, "/process/user/id")?.parse().ok()
}

/// `sensor.events_lost` and `sensor.events_lost_total` of a loss record.
pub fn lost(r: &Value) -> Option<(u64, u64)> {
    Some((
        r.pointer("/sensor/events_lost")?.as_u64()?,
        r.pointer("/sensor/events_lost_total")?.as_u64()?,
    ))
}

/// The fork tree that a run's records describe: each process's `entity_id` to its parent's
/// (from any of its records: a process that never executes shows up only in its `end` record).
#[derive(Debug)]
pub struct Tree<'a> {
    parents: HashMap<&'a str, &'a str>,
}

impl<'a> Tree<'a> {
    pub fn new(records: &'a [Value]) -> Self {
        let parents = records
            .iter()
            .filter_map(|r| Some((id(r)?, parent_id(r)?)))
            .collect();
        Self { parents }
    }

    /// Whether `entity_id` is `ancestor` or descends from it through recorded parents.
    pub fn descends(&self, entity_id: &str, ancestor: &str) -> bool {
        let mut at = entity_id;
        // Bounded: a corrupt (cyclic) tree must not hang the test.
        for _ in 0..1024 {
            if at == ancestor {
                return true;
            }
            match self.parents.get(at) {
                Some(parent) => at = parent,
                None => return false,
            }
        }
        false
    }
}

#[cfg(test)]
mod tests {
    use serde_json::json;

    use super::*;

    #[test]
    fn reads_a_process_record() {
        let r = json!({
            "event": {"category": ["process"], "action": "exec"},
            "process": {"pid": 7, "entity_id": "7-12", "args": ["id", "-u"],
                        "user": {"id": "1001"}, "parent": {"entity_id": "6-11"},
                        "entry_leader": {"entity_id": "5-10", "pid": 5}},
        });
        assert!(is_process(&r) && !is_loss(&r));
        assert!(is_exec_of(&r, &["id", "-u"]) && !is_exec_of(&r, &["id"]));
        assert!(is_action_of(&r, "exec", "7-12") && !is_action_of(&r, "end", "7-12"));
        assert!(!is_action_of(&r, "exec", "7-13"));
        assert_eq!(
            (id(&r), parent_id(&r), pid(&r)),
            (Some("7-12"), Some("6-11"), Some(7))
        );
        assert_eq!(leader_id(&r), Some("5-10"));
        assert_eq!(u32_at(&r, "/process/entry_leader/pid"), Some(5));
        assert_eq!(uid(&r), Some(1001));
    }

    #[test]
    fn reads_a_loss_record() {
        let r = json!({
            "event": {"kind": "metric", "category": ["host"], "action": "kernel-events-lost"},
            "sensor": {"events_lost": 3, "events_lost_total": 9},
        });
        assert!(is_loss(&r) && !is_process(&r));
        assert_eq!(lost(&r), Some((3, 9)));
    }

    #[test]
    fn walks_the_tree_up() {
        let rec = |id: &str, parent: &str| json!({"process": {"entity_id": id, "parent": {"entity_id": parent}}});
        let records = [rec("3-1", "2-1"), rec("2-1", "1-1"), rec("9-1", "8-1")];
        let tree = Tree::new(&records);
        assert!(tree.descends("3-1", "1-1") && tree.descends("3-1", "3-1"));
        assert!(!tree.descends("9-1", "1-1") && !tree.descends("1-1", "3-1"));
    }
}
