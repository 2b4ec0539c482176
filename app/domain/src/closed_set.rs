//! One declaration per closed set of words. [`closed_set!`] makes the enum and, from the one
//! word written beside each variant, every form the fronts need: `as_str` and `Display`,
//! `FromStr` (trimmed, any case, the one error text every front shows), serde, and with the
//! `api` feature (the server's build) the OpenAPI schema and the command line's `ValueEnum`.
//! No front keeps a table of its own, so a word cannot drift between the UI, the API and the CLI.

use crate::{logtext::Untrusted, AppError};

/// Declares a closed set: `closed_set! { /// doc  pub enum Name("what", "field") { Variant = "word", … } }`.
/// `what` names a value in an error ("unknown state …"), `field` is the input it is reported on.
macro_rules! closed_set {
    (
        $(#[$meta:meta])*
        $vis:vis enum $name:ident($what:literal, $field:literal) {
            $( $(#[$vmeta:meta])* $variant:ident = $word:literal ),+ $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
        $vis enum $name {
            $( $(#[$vmeta])* $variant ),+
        }

        impl $name {
            /// Every value, in declaration order.
            pub const ALL: [$name; [$($word),+].len()] = [$($name::$variant),+];

            /// The value's one word: stored, sent, shown and typed.
            pub fn as_str(self) -> &'static str {
                match self {
                    $( $name::$variant => $word ),+
                }
            }
        }

        impl ::std::fmt::Display for $name {
            fn fmt(&self, f: &mut ::std::fmt::Formatter<'_>) -> ::std::fmt::Result {
                f.write_str(self.as_str())
            }
        }

        impl ::std::str::FromStr for $name {
            type Err = $crate::AppError;

            fn from_str(raw: &str) -> Result<Self, $crate::AppError> {
                let raw = raw.trim();
                Self::ALL
                    .into_iter()
                    .find(|value| value.as_str().eq_ignore_ascii_case(raw))
                    .ok_or_else(|| $crate::closed_set::unknown($what, $field, raw, &Self::ALL.map(Self::as_str)))
            }
        }

        impl ::serde::Serialize for $name {
            fn serialize<S: ::serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
                serializer.serialize_str(self.as_str())
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $name {
            fn deserialize<D: ::serde::Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
                let raw = <::std::borrow::Cow<'de, str>>::deserialize(deserializer)?;
                raw.parse().map_err(|err: $crate::AppError| <D::Error as ::serde::de::Error>::custom(err))
            }
        }

        #[cfg(feature = "api")]
        impl ::utoipa::PartialSchema for $name {
            fn schema() -> ::utoipa::openapi::RefOr<::utoipa::openapi::schema::Schema> {
                $crate::closed_set::schema(&Self::ALL.map(Self::as_str))
            }
        }

        #[cfg(feature = "api")]
        impl ::utoipa::ToSchema for $name {}

        #[cfg(feature = "api")]
        impl ::clap::ValueEnum for $name {
            fn value_variants<'a>() -> &'a [Self] {
                &Self::ALL
            }

            fn to_possible_value(&self) -> Option<::clap::builder::PossibleValue> {
                Some(::clap::builder::PossibleValue::new(self.as_str()))
            }
        }
    };
}
pub(crate) use closed_set;

/// The error for a word outside its set, listing the words there are.
pub fn unknown(what: &str, field: &str, raw: &str, words: &[&str]) -> AppError {
    let choices = match words {
        [] => String::new(),
        [only] => (*only).to_string(),
        [init @ .., last] => format!("{} or {last}", init.join(", ")),
    };
    AppError::invalid(field, format!("unknown {what} {:?}: use {choices}", Untrusted(raw)))
}

/// A closed set's OpenAPI schema: a string, one of its words.
#[cfg(feature = "api")]
pub fn schema(words: &[&str]) -> utoipa::openapi::RefOr<utoipa::openapi::schema::Schema> {
    use utoipa::openapi::schema::{ObjectBuilder, Type};
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(words.iter().copied())).into()
}

#[cfg(test)]
mod tests {
    closed_set! {
        /// A test set.
        pub enum Colour("colour", "colour") {
            Red = "red",
            DarkBlue = "dark_blue",
        }
    }

    #[test]
    fn one_word_per_value_in_every_form() {
        assert_eq!(Colour::ALL, [Colour::Red, Colour::DarkBlue]);
        assert_eq!(Colour::DarkBlue.to_string(), "dark_blue");
        assert_eq!(" Dark_Blue ".parse::<Colour>(), Ok(Colour::DarkBlue));
        assert_eq!(serde_json::to_string(&Colour::DarkBlue).ok().as_deref(), Some("\"dark_blue\""));
        assert_eq!(serde_json::from_str::<Colour>("\"red\"").ok(), Some(Colour::Red));
    }

    #[test]
    fn a_word_outside_the_set_is_named_with_the_choices() {
        let err = "green".parse::<Colour>().unwrap_err();
        assert_eq!(err.field(), Some("colour"));
        assert_eq!(err.to_string(), "unknown colour \"green\": use red or dark_blue");
        let json = serde_json::from_str::<Colour>("\"green\"").unwrap_err().to_string();
        assert!(json.contains("unknown colour \"green\": use red or dark_blue"), "{json}");
    }
}
