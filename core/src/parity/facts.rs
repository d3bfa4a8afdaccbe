//! The one "extract facts" interface every source reader implements: a fact is one value a
//! source states about the catalogue (a model's type, a parameter's maximum, the set of
//! model ids), with where it is stated.

use serde_json::Value;

use super::location::Location;

/// What a fact states.
#[derive(Debug, Clone, PartialEq)]
pub enum FactKind {
    /// The complete list of model ids (a `MODELS_SCHEMA` list, a `ModelId` union); each id
    /// with its own location. Aliases are accepted in place of ids.
    ModelSet(Vec<(String, Location)>),
    /// A model's `type`.
    ModelType,
    /// A model's mode keys (`value` is an array of strings).
    Modes,
    /// A model's `default_mode`.
    DefaultMode,
    /// A parameter attribute (`type`, `default`, `min`, `max`, `step`, `options`, `maxLength`).
    Param {
        /// Parameter name.
        name: String,
        /// Attribute.
        attr: String,
    },
    /// A fixed parameter attribute (`value`, `locked`).
    Fixed {
        /// Parameter name.
        name: String,
        /// Attribute.
        attr: String,
    },
    /// `alias -> value` (the internal id).
    Alias(String),
    /// A literal model id compared in UI code: behaviour hard-coded for one model.
    HardCodedModel,
    /// A parameter attribute stated once for several models (a shared request class, a
    /// form control shown for several models): compared with the union of what those
    /// models accept (empty `models`: every model that has the parameter).
    SharedParam {
        /// The models (ids or aliases).
        models: Vec<String>,
        /// Parameter name.
        name: String,
        /// Attribute.
        attr: String,
    },
    /// The fields of a request class that mirrors `models`: a parameter of those models
    /// that the class lacks is `parameter_missing`, and a field that states no bound or
    /// options where the catalogue has them accepts values the catalogue refuses.
    FieldSet {
        /// The models (ids or aliases).
        models: Vec<String>,
        /// The fields.
        fields: Vec<Field>,
        /// Parameters the class leaves out on purpose (`partial`): not reported missing.
        partial: bool,
    },
}

/// One field of a request class.
#[derive(Debug, Clone, PartialEq)]
pub struct Field {
    /// The field (parameter) name.
    pub name: String,
    /// Where it is declared.
    pub at: Location,
    /// The constraints it states (`min`, `max`, `options`, `maxLength`, `step`).
    pub stated: Vec<String>,
}

/// One fact.
#[derive(Debug, Clone, PartialEq)]
pub struct Fact {
    /// The model (id or alias) it is about, when it is about one.
    pub model: Option<String>,
    /// What it states.
    pub kind: FactKind,
    /// The stated value.
    pub value: Value,
    /// Where.
    pub at: Location,
}

/// A source that could not be read or parsed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceError {
    /// Where (line 1 column 1 for an unreadable file).
    pub at: Location,
    /// What the parser said.
    pub message: String,
}

/// What a reader extracted from one file.
#[derive(Debug, Clone, Default)]
pub struct SourceFacts {
    /// The facts.
    pub facts: Vec<Fact>,
    /// Syntax errors (the file's facts are then incomplete; the check reports them).
    pub errors: Vec<SourceError>,
    /// The module-level names the file defines (classes, constants, type aliases, bound
    /// form values): a name configured in `parity.toml` but absent here is a config error.
    pub names: std::collections::BTreeSet<String>,
}
