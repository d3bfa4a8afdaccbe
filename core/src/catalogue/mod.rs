//! The model catalogue (`inference_settings.json`, REQUIREMENTS section 10): a typed model
//! that keeps unknown keys (reported as warnings, never dropped), the condition language of
//! `visible_if` / `required_if` parsed once into an AST (an atom that does not parse is an
//! error, never silently false), catalogue self-checks, and request validation for
//! `POST /generate` that reports EVERY violation at once.

mod condition;
pub(crate) mod json_locations;
mod model;
mod request_value;
mod validate;

pub use condition::{Condition, ConditionAtom};
pub use model::{
    Catalogue, CatalogueIssue, CatalogueOptions, FixedParameter, InvalidValues, Mode, Model,
    ParamType, Parameter, RequestShape,
};
pub use request_value::RequestValue;
pub use validate::{
    plan_request, plan_request_shaped, validate_request, validate_request_owned,
    validate_request_shaped, PayloadSource, RequestPlan, ValidatedRequest, Violation,
};
