//! Values picked by name: a model, a backend, a preset, a split. The library
//! says what the names are, as every message and `config.json` (through
//! serde's kebab-case) write them; what each means on a command line is the
//! binary's `--help`.

/// A fieldless enum whose values have names.
pub trait Choice: Copy + PartialEq + Send + Sync + 'static {
    /// Every value, in the order a list shows them, with its name as written
    /// on a command line (`better-lstm`).
    const NAMES: &'static [(Self, &'static str)];

    /// The value's name, as a command line and `config.json` write it.
    fn name(self) -> &'static str {
        Self::NAMES.iter().find(|e| e.0 == self).expect("every value is named").1
    }

    /// The value called `name`, if one is.
    fn from_name(name: &str) -> Option<Self> {
        Self::NAMES.iter().find(|e| e.1 == name).map(|e| e.0)
    }
}

/// `Display` as the value's name, for an enum that implements [`Choice`].
macro_rules! display_as_name {
    ($($t:ty),*) => {$(
        impl std::fmt::Display for $t {
            fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
                f.write_str($crate::choice::Choice::name(*self))
            }
        }
    )*};
}
pub(crate) use display_as_name;
