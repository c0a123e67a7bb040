//! Builder-style setters for the public option structs.
//!
//! The option structs are `#[non_exhaustive]`, so that a new option is not
//! a breaking change; outside their crate they are made from `default()`
//! and then either assigned field by field or built with these setters.

/// Implements a setter named after each listed field, `field(value) ->
/// Self`, as the crates' other builders are. A parameter type written as
/// `impl Into<T>` accepts anything convertible (the value goes through
/// `Into` either way).
#[doc(hidden)]
#[macro_export]
macro_rules! __option_setters {
    ($ty:ident { $($field:ident : $arg:ty),* $(,)? }) => {
        impl $ty {
            $(
                #[doc = concat!(
                    "Sets the `", stringify!($field), "` option, builder style; ",
                    "the field says what it does and its default."
                )]
                #[must_use]
                pub fn $field(mut self, value: $arg) -> Self {
                    #[allow(clippy::useless_conversion)]
                    {
                        self.$field = value.into();
                    }
                    self
                }
            )*
        }
    };
}
