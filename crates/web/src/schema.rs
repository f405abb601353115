//! OpenAPI schemas the derive cannot say: JSON of any shape, FastAPI's `loc`, a closed list of
//! names. Used with `#[schema(schema_with = …)]` so the document describes what is really sent.

use utoipa::openapi::Array;
use utoipa::openapi::schema::{ArrayBuilder, Object, ObjectBuilder, OneOfBuilder, SchemaType, Type};

/// Any JSON value, `null` included (`{}`).
pub fn any_value() -> Object {
    ObjectBuilder::new().schema_type(SchemaType::AnyValue).build()
}

/// FastAPI's `loc`: where a problem is, as strings and list indices (`["body", "tags", 0]`).
pub fn loc() -> Array {
    let part = OneOfBuilder::new()
        .item(ObjectBuilder::new().schema_type(Type::String))
        .item(ObjectBuilder::new().schema_type(Type::Integer));
    ArrayBuilder::new().items(part).build()
}

/// A string that is one of `names`.
pub fn one_of_names<'a>(names: impl IntoIterator<Item = &'a str>) -> Object {
    ObjectBuilder::new().schema_type(Type::String).enum_values(Some(names)).build()
}
