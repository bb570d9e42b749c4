//! Values picked by name: a model, a backend, a preset, a split. The library
//! says what the names are and what each means; the command line (and
//! `config.json`, through serde's kebab-case) only reads them.

/// A fieldless enum whose values have names.
pub trait Choice: Copy + PartialEq + Send + Sync + 'static {
    /// Every value, in the order a list shows them, with its name as written
    /// on a command line (`better-lstm`) and one line about it.
    const TABLE: &'static [(Self, &'static str, &'static str)];

    fn name(self) -> &'static str {
        self.entry().1
    }

    fn about(self) -> &'static str {
        self.entry().2
    }

    fn entry(self) -> &'static (Self, &'static str, &'static str) {
        Self::TABLE.iter().find(|e| e.0 == self).expect("every value is in the table")
    }

    /// The value called `name`, if one is.
    fn from_name(name: &str) -> Option<Self> {
        Self::TABLE.iter().find(|e| e.1 == name).map(|e| e.0)
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
