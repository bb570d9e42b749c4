//! Words to ids and back, built from the training split: in the book's order
//! of first appearance, or, with a limit of K words, the K-1 most frequent
//! and `<unk>` for the rest.

use std::collections::HashMap;

/// The word that stands for every word outside the vocabulary.
pub const UNK: &str = "<unk>";

/// A fixed hasher: a corpus's ids do not depend on the process.
type Map = HashMap<Box<str>, u32, foldhash::fast::FixedState>;

/// Words to ids and back.
#[derive(Clone, Debug, Default, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct Vocab {
    /// The words in id order.
    pub id_to_word: Vec<String>,
    #[serde(skip)]
    word_to_id: Map,
}

impl Vocab {
    /// Builds the vocabulary in order of first appearance.
    pub fn from_words<'a>(words: impl IntoIterator<Item = &'a str>) -> Self {
        let mut v = Vocab::default();
        for w in words {
            v.id_or_insert(w);
        }
        v
    }

    /// The vocabulary from a list of words in id order (e.g. read back from JSON).
    pub fn from_id_to_word(id_to_word: Vec<String>) -> Self {
        let word_to_id = id_to_word.iter().enumerate().map(|(i, w)| (w.as_str().into(), i as u32)).collect();
        Vocab { id_to_word, word_to_id }
    }

    /// The id of `word`, which is added at the end if it is new.
    fn id_or_insert(&mut self, word: &str) -> u32 {
        if let Some(&id) = self.word_to_id.get(word) {
            return id;
        }
        let id = self.id_to_word.len() as u32;
        self.word_to_id.insert(word.into(), id);
        self.id_to_word.push(word.to_string());
        id
    }

    /// The id of `word`, if the vocabulary has it.
    pub fn id(&self, word: &str) -> Option<u32> {
        self.word_to_id.get(word).copied()
    }

    /// The id of [`UNK`], if the vocabulary has it.
    pub fn unk(&self) -> Option<u32> {
        self.id(UNK)
    }

    /// The word of `id`, if there is one.
    pub fn word(&self, id: u32) -> Option<&str> {
        self.id_to_word.get(id as usize).map(String::as_str)
    }

    /// The number of words.
    pub fn len(&self) -> usize {
        self.id_to_word.len()
    }

    /// Whether it holds no word.
    pub fn is_empty(&self) -> bool {
        self.id_to_word.is_empty()
    }
}

/// The training split's words as they arrive: each new word gets the next id
/// and every word is counted. [`VocabBuilder::finish`] then applies the limit.
#[derive(Default)]
pub(crate) struct VocabBuilder {
    vocab: Vocab,
    counts: Vec<u64>,
}

impl VocabBuilder {
    /// The word's id in order of first appearance.
    pub(crate) fn add(&mut self, word: &str) -> u32 {
        let id = self.vocab.id_or_insert(word);
        match self.counts.get_mut(id as usize) {
            Some(count) => *count += 1,
            None => self.counts.push(1),
        }
        id
    }

    /// The vocabulary, with `ids` (the training split as [`add`](Self::add)
    /// returned them) rewritten to it, and how many of those words are now
    /// `<unk>`. Without a limit, every word stays. With a limit of K, the
    /// K-1 most frequent words other than `<unk>` stay (ties: the earlier
    /// first appearance) and all others become `<unk>`; the ids are then
    /// given in order of first appearance in the rewritten stream, `<unk>`
    /// at the end if it never appears, so that a limit above the number of
    /// words changes nothing but that.
    pub(crate) fn finish(self, limit: Option<usize>, ids: &mut [u32]) -> (Vocab, usize) {
        let Some(limit) = limit else { return (self.vocab, 0) };
        let VocabBuilder { vocab: seen, counts } = self;
        let unk = seen.unk();
        let mut by_count: Vec<u32> = (0..seen.len() as u32).filter(|&id| Some(id) != unk).collect();
        // Stable: equal counts keep the order of first appearance.
        by_count.sort_by_key(|&id| std::cmp::Reverse(counts[id as usize]));
        let mut kept = vec![false; seen.len()];
        for &id in by_count.iter().take(limit.saturating_sub(1)) {
            kept[id as usize] = true;
        }

        const UNSET: u32 = u32::MAX;
        let mut new_id = vec![UNSET; seen.len()];
        let mut unk_id = UNSET;
        let mut vocab = Vocab::default();
        let mut rare = 0;
        for id in ids.iter_mut() {
            let old = *id as usize;
            *id = if kept[old] {
                if new_id[old] == UNSET {
                    new_id[old] = vocab.id_or_insert(&seen.id_to_word[old]);
                }
                new_id[old]
            } else {
                rare += usize::from(Some(*id) != unk);
                if unk_id == UNSET {
                    unk_id = vocab.id_or_insert(UNK);
                }
                unk_id
            };
        }
        vocab.id_or_insert(UNK);
        (vocab, rare)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn build(words: &str, limit: Option<usize>) -> (Vec<String>, Vec<u32>, usize) {
        let mut b = VocabBuilder::default();
        let mut ids: Vec<u32> = words.split(' ').map(|w| b.add(w)).collect();
        let (vocab, rare) = b.finish(limit, &mut ids);
        (vocab.id_to_word, ids, rare)
    }

    #[test]
    fn without_a_limit_ids_follow_first_appearance() {
        let (words, ids, rare) = build("b a b c", None);
        assert_eq!((words, ids, rare), (vec!["b".into(), "a".into(), "c".into()], vec![0, 1, 0, 2], 0));
    }

    #[test]
    fn a_limit_keeps_the_most_frequent_and_breaks_ties_by_first_appearance() {
        // counts: x 1, a 3, b 2, c 2, d 1; limit 3 keeps a and b (b before c: first seen earlier)
        let (words, ids, rare) = build("x a b c a b c a d", Some(3));
        assert_eq!(words, ["<unk>", "a", "b"]);
        assert_eq!(ids, [0, 1, 2, 0, 1, 2, 0, 1, 0]);
        assert_eq!(rare, 4);
    }

    #[test]
    fn the_corpus_own_unk_is_kept_and_not_counted_as_rare() {
        let (words, ids, rare) = build("a <unk> a b b c", Some(3));
        assert_eq!(words, ["a", "<unk>", "b"]);
        assert_eq!(ids, [0, 1, 0, 2, 2, 1]);
        assert_eq!(rare, 1);
    }

    #[test]
    fn a_limit_above_the_words_only_adds_unk_at_the_end() {
        let (words, ids, rare) = build("b a b", Some(100));
        assert_eq!((words, ids, rare), (vec!["b".into(), "a".into(), "<unk>".into()], vec![0, 1, 0], 0));
        let (words, _, _) = build("b <unk> a", Some(100));
        assert_eq!(words, ["b", "<unk>", "a"]);
    }
}
