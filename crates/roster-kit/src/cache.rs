//! A bounded cache whose entries belong to groups (an account, a user) that are invalidated
//! as a whole by a change notice, and which never stores an answer read before a notice.
use std::collections::HashMap;
use std::hash::Hash;
use std::sync::RwLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use uuid::Uuid;

struct Entry<V> {
    value: V,
    group: Uuid,
    group_generation: u64,
    expires: Instant,
}

struct State<K, V> {
    entries: HashMap<K, Entry<V>>,
    /// Bumped for a group on every notice about it; older entries of the group are stale.
    generations: HashMap<Uuid, u64>,
}

/// Values by key, each in a group, each kept for at most `ttl` (or less, when its source
/// says so), at most `capacity` of them.
pub struct GroupCache<K, V> {
    state: RwLock<State<K, V>>,
    /// Counts every invalidation: a lookup that raced one does not store its answer.
    invalidations: AtomicU64,
    ttl: Duration,
    capacity: usize,
}

impl<K, V> std::fmt::Debug for GroupCache<K, V> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("GroupCache")
            .field("ttl", &self.ttl)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl<K: Eq + Hash, V: Clone> GroupCache<K, V> {
    /// An empty cache; a zero `ttl` or `capacity` caches nothing.
    pub fn new(ttl: Duration, capacity: usize) -> Self {
        Self {
            state: RwLock::new(State {
                entries: HashMap::new(),
                generations: HashMap::new(),
            }),
            invalidations: AtomicU64::new(0),
            ttl,
            capacity,
        }
    }

    fn read(&self) -> std::sync::RwLockReadGuard<'_, State<K, V>> {
        self.state
            .read()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    fn write(&self) -> std::sync::RwLockWriteGuard<'_, State<K, V>> {
        self.state
            .write()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// The value under `key`, unless its group changed since it was stored or it expired.
    pub fn get(&self, key: &K) -> Option<V> {
        let state = self.read();
        let entry = state.entries.get(key)?;
        let generation = state.generations.get(&entry.group).copied().unwrap_or(0);
        (entry.group_generation == generation && Instant::now() < entry.expires)
            .then(|| entry.value.clone())
    }

    /// Taken before reading a value from its source, for [`Self::put`].
    pub fn ticket(&self) -> u64 {
        self.invalidations.load(Ordering::Acquire)
    }

    /// Stores `value`, read after `ticket` was taken, unless anything was invalidated
    /// since; it is used until `expires` at the latest.
    pub fn put(&self, key: K, value: V, group: Uuid, ticket: u64, expires: Option<Instant>) {
        if self.ttl.is_zero() || self.capacity == 0 {
            return;
        }
        let mut state = self.write();
        if self.invalidations.load(Ordering::Acquire) != ticket {
            return;
        }
        if state.entries.len() >= self.capacity {
            // Simple and bounded: a full cache starts over rather than tracking recency.
            state.entries.clear();
        }
        let group_generation = state.generations.get(&group).copied().unwrap_or(0);
        let until = Instant::now() + self.ttl;
        state.entries.insert(
            key,
            Entry {
                value,
                group,
                group_generation,
                expires: expires.map_or(until, |expires| expires.min(until)),
            },
        );
    }

    /// Makes every entry of `group` stale.
    pub fn invalidate_group(&self, group: Uuid) {
        let mut state = self.write();
        self.invalidations.fetch_add(1, Ordering::AcqRel);
        *state.generations.entry(group).or_default() += 1;
    }

    /// Forgets everything.
    pub fn clear(&self) {
        let mut state = self.write();
        self.invalidations.fetch_add(1, Ordering::AcqRel);
        state.entries.clear();
        state.generations.clear();
    }

    /// How many entries are held (stale ones included).
    #[cfg(test)]
    fn len(&self) -> usize {
        self.read().entries.len()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_notice_makes_its_group_stale_and_racing_reads_are_not_stored() {
        let cache = GroupCache::new(Duration::from_secs(60), 10);
        let (group, other) = (Uuid::now_v7(), Uuid::now_v7());
        let ticket = cache.ticket();
        cache.put(1, "a", group, ticket, None);
        cache.put(2, "b", other, ticket, None);
        assert_eq!(cache.get(&1), Some("a"));
        cache.invalidate_group(group);
        assert_eq!(cache.get(&1), None);
        assert_eq!(cache.get(&2), Some("b"));
        // Read before the notice: not stored.
        cache.put(1, "a", group, ticket, None);
        assert_eq!(cache.get(&1), None);
        let ticket = cache.ticket();
        cache.put(1, "a2", group, ticket, None);
        assert_eq!(cache.get(&1), Some("a2"));
        cache.clear();
        assert!(cache.get(&2).is_none());
    }

    #[test]
    fn entries_expire_when_their_source_says_and_the_cache_stays_bounded() {
        let cache = GroupCache::new(Duration::from_secs(60), 2);
        let group = Uuid::now_v7();
        let ticket = cache.ticket();
        cache.put(1, 1, group, ticket, Some(Instant::now()));
        assert_eq!(cache.get(&1), None);
        for key in 0..5 {
            cache.put(key, key, group, ticket, None);
            assert!(cache.len() <= 2);
        }
        assert_eq!(cache.get(&4), Some(4));
    }
}
