//! Chapter 7: the book's addition data set, split as the book splits it.

use rnnlm::data::fetch::sha256_hex;
use rnnlm::data::sequence::SequenceSet;

/// `python bench/sequence_split.py` (the book's own `dataset/sequence.py`)
/// printed these: x_train, t_train, x_test, t_test as little-endian int32.
const BOOK_SPLITS: [(SequenceSet, usize, [&str; 4]); 2] = [
    (
        SequenceSet::Addition,
        13,
        [
            "3e494f5986e06c7b3c52b9ea83567964f46afbbf52a49edbc89589c001b417dd",
            "9f62ef642415815859e5f45a01f36e0d59eadc7976e8e9744bdeb9fc0e0d858b",
            "73b2f6d03e52320959d27c7759f82e591cbfd03bdedd77546e18f89d2216817f",
            "58fae805bb8f75e3f046c7d1459dd409a84a477c8d618788acca8c8fc2790488",
        ],
    ),
    (
        SequenceSet::Date,
        59,
        [
            "43aa7bc8249037f34d95ec4d83055e9f90f9fdb72e0eb5e63626f293b5b990a5",
            "f8a88cd130201bf1efa18a2070ad885865392a8d1ce3d8bb0e4a47059752f892",
            "a7912619391c19aa71c43127f206de7ab9532019bf703529f7d4d5233f883cf9",
            "698f8407c618450d0aa00ee1d78cc5a9fee0c59ab0f879ddee4392dc8f661fb3",
        ],
    ),
];

#[test]
fn the_split_is_the_books_to_every_id() {
    for (set, vocab, hashes) in BOOK_SPLITS {
        let d = set.load().unwrap();
        assert_eq!(d.chars.len(), vocab, "{set}");
        let ours = [&d.train.x, &d.train.t, &d.test.x, &d.test.t].map(|a| sha256_hex(&a.le_i32_bytes()));
        assert_eq!(ours, hashes, "{set}");
        assert_eq!((d.train.len(), d.test.len()), (45_000, 5_000));
    }
}
