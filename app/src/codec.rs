//! The JSON codec of every server function's reply: serde_json's `from_str`, the same call the
//! resources use to read what the server rendered into the page (codee's `JsonSerdeCodec`).
//! With server_fn's own `Json` (`from_slice`) the browser carried every reply type's
//! deserializer twice, once per reader (measured with twiggy; docs/ARCHITECTURE.md §11).
//! The bytes on the wire are the same JSON as before.

use leptos::server_fn::codec::Post;
use leptos::server_fn::{Bytes, ContentType, Decodes, Encodes, Format, FormatType};
use serde::Serialize;
use serde::de::DeserializeOwned;

/// JSON, decoded from text.
pub struct JsonText;

/// A server function's output as [`JsonText`]: `#[server(..., output = crate::codec::Json)]`.
pub type Json = Post<JsonText>;

impl ContentType for JsonText {
    const CONTENT_TYPE: &'static str = "application/json";
}

impl FormatType for JsonText {
    const FORMAT_TYPE: Format = Format::Text;
}

impl<T: Serialize> Encodes<T> for JsonText {
    type Error = serde_json::Error;

    fn encode(output: &T) -> Result<Bytes, Self::Error> {
        serde_json::to_vec(output).map(Bytes::from)
    }
}

impl<T: DeserializeOwned> Decodes<T> for JsonText {
    type Error = serde_json::Error;

    fn decode(bytes: Bytes) -> Result<T, Self::Error> {
        let text = std::str::from_utf8(&bytes).map_err(|e| {
            <serde_json::Error as serde::de::Error>::custom(format!("the reply is not UTF-8: {e}"))
        })?;
        serde_json::from_str(text)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(Debug, PartialEq, serde::Serialize, serde::Deserialize)]
    struct Reply {
        name: String,
        n: i64,
    }

    #[test]
    fn replies_round_trip_as_plain_json() {
        let reply = Reply {
            name: "Mixed \"Case\" ünïcode".into(),
            n: -3,
        };
        let bytes = <JsonText as Encodes<Reply>>::encode(&reply).unwrap();
        assert_eq!(bytes, serde_json::to_vec(&reply).unwrap());
        assert_eq!(<JsonText as Decodes<Reply>>::decode(bytes).unwrap(), reply);
    }

    #[test]
    fn bytes_that_are_not_utf8_or_not_json_are_errors() {
        let err =
            <JsonText as Decodes<Reply>>::decode(Bytes::from_static(b"\xff\xfe")).unwrap_err();
        assert!(err.to_string().contains("not UTF-8"), "{err}");
        assert!(<JsonText as Decodes<Reply>>::decode(Bytes::from_static(b"{\"name\":1}")).is_err());
    }
}
