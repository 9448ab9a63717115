//! The kube store's watch cache: what a list and then a watch of one kind of custom resource
//! say, applied to a map by name. Plain data, so that the event logic is tested with
//! synthetic events; `kube_store.rs` feeds it from the API server.
//!
//! Besides the watch, the store applies its own successful writes and the objects it fetched
//! after a conflict ([`Cache::put`]), so that a process reads its own writes at once.
//! resourceVersions are opaque, but etcd's are its revision numbers: where both versions
//! parse as numbers the newer one wins, otherwise the latest news does. A stale entry costs
//! no correctness: every write is conditional on the version it read, so a stale read only
//! costs a conflict and a retry.

use std::collections::BTreeMap;

/// One object as the cache holds it.
#[derive(Debug, Clone, PartialEq)]
pub struct Cached<T> {
    pub version: String,
    pub value: T,
}

/// What a list or a watch tells about one kind of object.
#[derive(Debug, Clone, PartialEq)]
pub enum Event<T> {
    /// Every object there is, as of `version` (a watch resumes from there).
    Listed {
        items: Vec<(String, Cached<T>)>,
        version: String,
    },
    /// Added or modified.
    Applied {
        name: String,
        object: Cached<T>,
    },
    Deleted {
        name: String,
        version: String,
    },
    /// Nothing changed up to `version`.
    Bookmark {
        version: String,
    },
}

#[derive(Debug)]
pub struct Cache<T> {
    objects: BTreeMap<String, Cached<T>>,
    /// Where the watch resumes; None until a list has landed or after the watch failed.
    resume: Option<String>,
}

impl<T> Default for Cache<T> {
    fn default() -> Self {
        Cache {
            objects: BTreeMap::new(),
            resume: None,
        }
    }
}

/// Whether `new` may replace `old`: not when both are numbers and `new` is the older.
fn newer(new: &str, old: &str) -> bool {
    match (new.parse::<u64>(), old.parse::<u64>()) {
        (Ok(n), Ok(o)) => n >= o,
        _ => true,
    }
}

impl<T> Cache<T> {
    /// Whether the cache holds a list and every event since: reads may come from it.
    pub fn synced(&self) -> bool {
        self.resume.is_some()
    }

    /// The version a watch resumes from.
    pub fn resume_from(&self) -> Option<&str> {
        self.resume.as_deref()
    }

    /// The watch broke: reads go to the API server until a list lands again.
    pub fn invalidate(&mut self) {
        self.resume = None;
    }

    pub fn apply(&mut self, event: Event<T>) {
        match event {
            Event::Listed { items, version } => {
                self.objects = items.into_iter().collect();
                self.resume = Some(version);
            }
            Event::Applied { name, object } => {
                self.resume = Some(object.version.clone());
                self.put(name, object);
            }
            Event::Deleted { name, version } => {
                self.objects.remove(&name);
                self.resume = Some(version);
            }
            Event::Bookmark { version } => self.resume = Some(version),
        }
    }

    /// An object the store wrote or fetched itself; an older version than the one held is
    /// ignored.
    pub fn put(&mut self, name: String, object: Cached<T>) {
        match self.objects.get(&name) {
            Some(held) if !newer(&object.version, &held.version) => {}
            _ => {
                self.objects.insert(name, object);
            }
        }
    }

    /// An object the store deleted, or found gone.
    pub fn remove(&mut self, name: &str) {
        self.objects.remove(name);
    }

    pub fn get(&self, name: &str) -> Option<&Cached<T>> {
        self.objects.get(name)
    }

    pub fn iter(&self) -> impl Iterator<Item = (&String, &Cached<T>)> {
        self.objects.iter()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obj(version: &str, value: u32) -> Cached<u32> {
        Cached {
            version: version.into(),
            value,
        }
    }

    fn applied(name: &str, version: &str, value: u32) -> Event<u32> {
        Event::Applied {
            name: name.into(),
            object: obj(version, value),
        }
    }

    fn values(c: &Cache<u32>) -> Vec<(String, u32)> {
        c.iter().map(|(n, o)| (n.clone(), o.value)).collect()
    }

    #[test]
    fn nothing_is_read_from_it_before_a_list() {
        let mut c = Cache::default();
        assert!(!c.synced());
        c.apply(Event::Listed {
            items: vec![("a".into(), obj("3", 1))],
            version: "5".into(),
        });
        assert!(c.synced());
        assert_eq!(c.resume_from(), Some("5"));
        c.invalidate();
        assert!(!c.synced(), "a broken watch sends reads to the API server");
    }

    #[test]
    fn watch_events_add_change_and_delete_and_move_the_resume_version() {
        let mut c = Cache::default();
        c.apply(Event::Listed {
            items: vec![("a".into(), obj("3", 1)), ("b".into(), obj("4", 2))],
            version: "5".into(),
        });
        c.apply(applied("c", "6", 3));
        c.apply(applied("a", "7", 10));
        c.apply(Event::Deleted {
            name: "b".into(),
            version: "8".into(),
        });
        assert_eq!(values(&c), [("a".into(), 10), ("c".into(), 3)]);
        assert_eq!(c.resume_from(), Some("8"));
        c.apply(Event::Bookmark {
            version: "12".into(),
        });
        assert_eq!(c.resume_from(), Some("12"));
    }

    #[test]
    fn a_new_list_replaces_everything() {
        let mut c = Cache::default();
        c.apply(applied("gone", "2", 1));
        c.apply(Event::Listed {
            items: vec![("a".into(), obj("9", 5))],
            version: "9".into(),
        });
        assert_eq!(values(&c), [("a".into(), 5)]);
    }

    #[test]
    fn own_writes_show_at_once_and_older_news_does_not_undo_them() {
        let mut c = Cache::default();
        c.apply(Event::Listed {
            items: vec![("a".into(), obj("3", 1))],
            version: "3".into(),
        });
        c.put("a".into(), obj("10", 2));
        assert_eq!(c.get("a").map(|o| o.value), Some(2));
        // The watch still delivers an earlier change of the same object.
        c.apply(applied("a", "7", 9));
        assert_eq!(
            c.get("a").map(|o| (o.version.as_str(), o.value)),
            Some(("10", 2))
        );
        assert_eq!(c.resume_from(), Some("7"), "the watch resumes where it was");
        c.apply(applied("a", "11", 4));
        assert_eq!(c.get("a").map(|o| o.value), Some(4));
        // Opaque versions: the latest news wins.
        c.put("a".into(), obj("x", 5));
        assert_eq!(c.get("a").map(|o| o.value), Some(5));
        c.remove("a");
        assert!(c.get("a").is_none());
    }
}
