// Package schemainfer is the inference behind EventBridge schema discovery:
// it turns events into the OpenAPI 3 document a discoverer stores in the
// discovered-schemas registry, merges the shapes of many events into one, and
// converts any registry OpenAPI 3 schema to JSON Schema draft 4 as
// ExportSchema returns it.
//
// A discoverer keeps one Schema per source and detail-type (AWS names the
// schema "source@DetailType"): FromEvent infers the shape of one event,
// Merge folds it into the shape known so far and says whether the stored
// document would change (a new schema version), and FromOpenAPI resumes from
// a stored version, so that the state that matters lives in the registry and
// not in one process: for every stored document d and event e,
// FromOpenAPI(d).Merge(FromEvent(e)) gives the same result in every process.
//
// The document follows what AWS discovery produces (see the examples in
// https://docs.aws.amazon.com/eventbridge/latest/userguide/eb-schemas-infer-from-json.html
// and the discovered schemas returned by DescribeSchema):
//
//   - info.title and the detail's component are the detail-type in
//     PascalCase ("Step Functions Execution Status Change" becomes
//     StepFunctionsExecutionStatusChange, "userCreated" UserCreated);
//   - components.schemas.AWSEvent is the envelope, with
//     x-amazon-events-source and x-amazon-events-detail-type, its detail
//     property first and a $ref to the detail's component;
//   - every nested object with fields is a component of its own, named after
//     its key in PascalCase (customer: Customer);
//   - strings are "string", with format date-time when every value seen was
//     an RFC 3339 date-time; integers "integer" with format int32, or int64
//     once a value exceeds 32 bits; other numbers "number", format double;
//     true and false "boolean"; an empty array has items {"type":"object"};
//   - a field is required when every object seen had it, and required lists
//     keys in the iteration order of a Java HashSet of them, which is the
//     order every AWS example shows ("detail-type","resources","detail",...);
//     properties are sorted by name.
//
// Where AWS's behaviour is not documented the choices are these, so that a
// stored document always determines the next one: null adds "nullable":
// true (a field only ever null is {"nullable":true}); values of incompatible
// types seen under one key (a string and an object, say) make the field {},
// any value, and it stays so; integers and numbers together are a number.
// Two nested objects whose keys give the same component name are told apart
// with a suffix (_1, _2) in document order.
//
// Inference costs time linear in the event and memory bounded by the number
// of distinct fields: an event nested deeper than MaxDepth levels (AWS:
// "Discoverer will only infer events that are nested up to 255 levels",
// https://docs.aws.amazon.com/eventbridge/latest/schema-reference/v1-discover.html),
// larger than MaxEventSize, or with more than MaxFields distinct field paths
// is refused with an error, and the elements of an array, however many,
// fold into one item shape.
package schemainfer
