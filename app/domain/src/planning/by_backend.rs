//! Items laid out backend after backend in one list, for the planners' per-pass indexes: a
//! million groups are indexed, read and sorted faster there than in a list per backend.

use std::ops::Range;

use uuid::Uuid;

use super::IdMap;

/// Items by backend, backends in id order, each backend's items in the order given.
pub(crate) struct ByBackend<T> {
    /// Each backend with where its items lie in `items`, in id order.
    backends: Vec<(Uuid, Range<usize>)>,
    /// Each backend's place in `backends`.
    place_of: IdMap<usize>,
    items: Vec<T>,
}

impl<T: Copy> ByBackend<T> {
    /// Indexes the items, each given with its backend.
    pub(crate) fn new(keyed: impl Iterator<Item = (Uuid, T)>) -> Self {
        let mut slot_of: IdMap<usize> = IdMap::default();
        // Each backend with its count of items, in order of first appearance.
        let mut counts: Vec<(Uuid, usize)> = Vec::new();
        // Sized for the most items there can be: grown as it fills, a million would be copied
        // about twenty times over.
        let mut slotted: Vec<(usize, T)> = Vec::with_capacity(keyed.size_hint().1.unwrap_or(0));
        for (backend, item) in keyed {
            let next = counts.len();
            let slot = *slot_of.entry(backend).or_insert_with(|| {
                counts.push((backend, 0));
                next
            });
            counts[slot].1 += 1;
            slotted.push((slot, item));
        }
        let mut in_id_order: Vec<usize> = (0..counts.len()).collect();
        in_id_order.sort_unstable_by_key(|&slot| counts[slot].0);
        let mut next = vec![0; counts.len()];
        let mut backends: Vec<(Uuid, Range<usize>)> = Vec::with_capacity(counts.len());
        let mut start = 0;
        for slot in in_id_order {
            let (backend, count) = counts[slot];
            next[slot] = start;
            backends.push((backend, start..start + count));
            start += count;
        }
        // Every place is written below; the first item only fills the list until then.
        let mut items = match slotted.first() {
            Some(&(_, first)) => vec![first; slotted.len()],
            None => Vec::new(),
        };
        for (slot, item) in slotted {
            items[next[slot]] = item;
            next[slot] += 1;
        }
        let place_of = backends.iter().enumerate().map(|(place, (backend, _))| (*backend, place)).collect();
        Self { backends, place_of, items }
    }

    /// The backend's items, in the order given.
    pub(crate) fn of(&self, backend: Uuid) -> &[T] {
        match self.place_of.get(&backend).and_then(|&place| self.backends.get(place)) {
            Some((_, range)) => &self.items[range.clone()],
            None => &[],
        }
    }

    /// Each backend with its items, in backend id order, the items open to sorting.
    pub(crate) fn in_id_order(&mut self) -> impl Iterator<Item = (Uuid, &mut [T])> {
        let mut rest: &mut [T] = &mut self.items;
        self.backends.iter().map(move |(backend, range)| {
            let (mine, tail) = std::mem::take(&mut rest).split_at_mut(range.len());
            rest = tail;
            (*backend, mine)
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_backend_keeps_its_items_in_order_and_comes_in_id_order() {
        let (a, b, c) = (Uuid::from_u128(3), Uuid::from_u128(1), Uuid::from_u128(2));
        let mut index = ByBackend::new([(a, 1), (b, 2), (a, 3), (c, 4), (b, 5), (a, 6)].into_iter());
        assert_eq!(index.of(a), [1, 3, 6]);
        assert_eq!(index.of(b), [2, 5]);
        assert_eq!(index.of(Uuid::from_u128(9)), [] as [i32; 0]);
        let order: Vec<(u128, Vec<i32>)> =
            index.in_id_order().map(|(id, items)| (id.as_u128(), items.to_vec())).collect();
        assert_eq!(order, [(1, vec![2, 5]), (2, vec![4]), (3, vec![1, 3, 6])]);
        assert!(ByBackend::<i32>::new(std::iter::empty()).of(a).is_empty());
    }
}
