//! Enums whose variants travel as names: in messages, the CRD and the runtime config
//! (serde), and as column values, metric labels and librdkafka settings (`as_str`).
//!
//! [`named_enum!`](crate::named_enum) declares such an enum once. It gives serde and strum
//! the same casing rule and the same text for each renamed variant, so a variant cannot read
//! one way in JSON and another in a column; and it lists every variant in `ALL`, in
//! declaration order. A macro rather than a hand-written derive: strum already makes the
//! texts, and what is left is only to say the casing rule and the renames once for both.

/// Declares a public, field-less enum that travels by name.
///
/// ```
/// optionsflow_api::named_enum! {
///     rename_all = "snake_case";
///     /// How sure we are.
///     #[derive(Default)]
///     pub enum Confidence {
///         #[default]
///         Low,
///         RatherHigh,
///         /// Renamed: the text after `=` is the variant's name everywhere.
///         Certain = "100%",
///     }
/// }
/// assert_eq!(Confidence::RatherHigh.as_str(), "rather_high");
/// assert_eq!(serde_json::to_string(&Confidence::Certain).unwrap(), "\"100%\"");
/// assert_eq!(Confidence::ALL, [Confidence::Low, Confidence::RatherHigh, Confidence::Certain]);
/// ```
///
/// The enum derives `Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord`, serde's
/// `Serialize, Deserialize` and strum's `IntoStaticStr`; more derives go on it as usual
/// (`#[derive(Default, JsonSchema, strum::EnumString)]`), and read the same names.
#[macro_export]
macro_rules! named_enum {
    (
        $(rename_all = $case:literal;)?
        $(#[$meta:meta])*
        pub enum $name:ident {
            $( $(#[$variant_meta:meta])* $variant:ident $(= $text:literal)? ),* $(,)?
        }
    ) => {
        #[derive(
            Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord,
            ::serde::Serialize, ::serde::Deserialize, ::strum::IntoStaticStr,
        )]
        $(#[$meta])*
        $(#[serde(rename_all = $case)] #[strum(serialize_all = $case)])?
        pub enum $name {
            $(
                $(#[$variant_meta])*
                $(#[serde(rename = $text)] #[strum(serialize = $text)])?
                $variant,
            )*
        }

        impl $name {
            /// Every variant, in declaration order.
            pub const ALL: [$name; [$(stringify!($variant)),*].len()] = [$($name::$variant),*];

            /// The variant's name, as serde writes it.
            pub fn as_str(self) -> &'static str {
                self.into()
            }
        }
    };
}

#[cfg(test)]
mod tests {
    #[cfg(feature = "crd")]
    use crate::crd::pipeline::{SaslMechanism, SecurityProtocol};
    use crate::records::{BarInterval, DropReason, Exercise, IvStatus, OptionRight, QualityFlag};
    use crate::{Dataset, Source};

    /// serde and strum are handed the same rule by the macro; this shows they read it alike
    /// (strum's and serde's case conversions are separate code).
    fn same<T: serde::Serialize + Copy>(all: &[T], text: fn(T) -> &'static str) {
        for &v in all {
            assert_eq!(serde_json::to_value(v).unwrap(), text(v));
        }
    }

    #[test]
    fn every_name_is_the_one_serde_writes() {
        same(&BarInterval::ALL, BarInterval::as_str);
        same(&OptionRight::ALL, OptionRight::as_str);
        same(&Exercise::ALL, Exercise::as_str);
        same(&IvStatus::ALL, IvStatus::as_str);
        same(&QualityFlag::ALL, QualityFlag::as_str);
        same(&DropReason::ALL, DropReason::as_str);
        same(&Dataset::ALL, Dataset::as_str);
        same(&Source::ALL, Source::as_str);
        assert_eq!(BarInterval::FifteenMinutes.as_str(), "15min");
        assert_eq!(IvStatus::BelowIntrinsic.as_str(), "below_intrinsic");
        assert_eq!(Source::TwelveData.as_str(), "twelvedata");
    }

    /// librdkafka reads the names the CRD takes.
    #[cfg(feature = "crd")]
    #[test]
    fn kafka_settings_are_named_as_librdkafka_reads_them() {
        same(&SecurityProtocol::ALL, SecurityProtocol::as_str);
        same(&SaslMechanism::ALL, SaslMechanism::as_str);
        assert_eq!(SecurityProtocol::SaslSsl.as_str(), "SASL_SSL");
        assert_eq!(SaslMechanism::ScramSha512.as_str(), "SCRAM-SHA-512");
    }
}
