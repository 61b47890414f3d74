//! The faults the simulated Node reports to a PSP or to Checkout when a payment cannot go on
//! (pagopa.md §1.8, "Node-side codes"): the station's own fault is relayed inside
//! `PPT_ERRORE_EMESSO_DA_PAA`, transport and contract problems get the `PPT_STAZIONE_INT_PA_*` codes.

use serde_json::{Value, json};

use crate::soap::XmlWriter;

/// The `id` the Node puts in the faults it issues itself.
pub const NODE_ID: &str = "NodoDeiPagamentiSPC";

/// A fault returned by the station (`PAA_*`), as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PaaFault {
    pub code: String,
    pub string: String,
    pub id: String,
    pub description: Option<String>,
}

/// A fault issued by the simulated Node.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NodeFault {
    pub code: &'static str,
    pub string: &'static str,
    /// What happened, for people reading logs and the status endpoint (English).
    pub description: String,
    /// The station's fault, for `PPT_ERRORE_EMESSO_DA_PAA`.
    pub original: Option<Box<PaaFault>>,
}

impl NodeFault {
    fn new(code: &'static str, string: &'static str, description: impl Into<String>) -> NodeFault {
        NodeFault { code, string, description: description.into(), original: None }
    }

    pub fn timeout(description: impl Into<String>) -> NodeFault {
        NodeFault::new("PPT_STAZIONE_INT_PA_TIMEOUT", "Timeout risposta dalla stazione", description)
    }

    pub fn unreachable(description: impl Into<String>) -> NodeFault {
        NodeFault::new("PPT_STAZIONE_INT_PA_IRRAGGIUNGIBILE", "Stazione intermediario PA irraggiungibile", description)
    }

    /// The station answered something the contract does not allow.
    pub fn bad_response(description: impl Into<String>) -> NodeFault {
        NodeFault::new("PPT_STAZIONE_INT_PA_ERRORE_RESPONSE", "Errore nella risposta della stazione", description)
    }

    /// The station answered with a valid fault of its own.
    pub fn from_paa(fault: PaaFault) -> NodeFault {
        NodeFault {
            code: "PPT_ERRORE_EMESSO_DA_PAA",
            string: "Errore restituito dalla PAA",
            description: format!("the station answered {}", fault.code),
            original: Some(Box::new(fault)),
        }
    }

    pub fn iban_not_registered(description: impl Into<String>) -> NodeFault {
        NodeFault::new("PPT_IBAN_NON_CENSITO", "IBAN non censito", description)
    }

    pub fn unknown_org(description: impl Into<String>) -> NodeFault {
        NodeFault::new("PPT_DOMINIO_SCONOSCIUTO", "Identificativo dominio sconosciuto", description)
    }

    pub fn already_paid(description: impl Into<String>) -> NodeFault {
        NodeFault::new("PPT_PAGAMENTO_DUPLICATO", "Pagamento duplicato", description)
    }

    pub fn in_progress(description: impl Into<String>) -> NodeFault {
        NodeFault::new("PPT_PAGAMENTO_IN_CORSO", "Pagamento in attesa risulta in corso", description)
    }

    pub fn authentication(description: impl Into<String>) -> NodeFault {
        NodeFault::new("PPT_AUTENTICAZIONE", "Errore di autenticazione", description)
    }

    pub fn unknown_broker(description: impl Into<String>) -> NodeFault {
        NodeFault::new("PPT_INTERMEDIARIO_PA_SCONOSCIUTO", "Identificativo intermediario PA sconosciuto", description)
    }

    pub fn unknown_station(description: impl Into<String>) -> NodeFault {
        NodeFault::new(
            "PPT_STAZIONE_INT_PA_SCONOSCIUTA",
            "Identificativo stazione intermediario PA sconosciuto",
            description,
        )
    }

    pub fn unknown_flow(description: impl Into<String>) -> NodeFault {
        NodeFault::new("PPT_ID_FLUSSO_SCONOSCIUTO", "Identificativo flusso sconosciuto", description)
    }

    /// The JSON shape of the PSP counter and the status endpoint (ctFaultBean's field names).
    pub fn to_json(&self) -> Value {
        let mut fault = json!({
            "faultCode": self.code,
            "faultString": self.string,
            "id": NODE_ID,
            "description": self.description,
        });
        if let (Some(original), Some(map)) = (&self.original, fault.as_object_mut()) {
            map.insert("originalFaultCode".to_owned(), json!(original.code));
            map.insert("originalFaultString".to_owned(), json!(original.string));
            if let Some(description) = &original.description {
                map.insert("originalDescription".to_owned(), json!(description));
            }
        }
        fault
    }

    /// A `<fault>` element (ctFaultBean, unqualified children), for nodeForPa answers.
    pub fn write_xml(&self, w: &mut XmlWriter) {
        w.open("fault")
            .leaf("faultCode", self.code)
            .leaf("faultString", self.string)
            .leaf("id", NODE_ID)
            .leaf("description", &self.description);
        if let Some(original) = &self.original {
            w.leaf("originalFaultCode", &original.code)
                .leaf("originalFaultString", &original.string)
                .leaf_opt("originalDescription", original.description.as_deref());
        }
        w.close("fault");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_station_fault_is_relayed_with_its_original_code() {
        let fault = NodeFault::from_paa(PaaFault {
            code: "PAA_PAGAMENTO_SCONOSCIUTO".to_owned(),
            string: "Pagamento in attesa risulta sconosciuto all’Ente Creditore".to_owned(),
            id: "01234567897".to_owned(),
            description: None,
        });
        let json = fault.to_json();
        assert_eq!(json["faultCode"], "PPT_ERRORE_EMESSO_DA_PAA");
        assert_eq!(json["originalFaultCode"], "PAA_PAGAMENTO_SCONOSCIUTO");
        assert_eq!(json["id"], NODE_ID);
        let mut w = XmlWriter::new();
        fault.write_xml(&mut w);
        let xml = w.finish();
        assert!(xml.starts_with("<fault><faultCode>PPT_ERRORE_EMESSO_DA_PAA</faultCode>"), "{xml}");
        assert!(xml.contains("<originalFaultCode>PAA_PAGAMENTO_SCONOSCIUTO</originalFaultCode>"), "{xml}");
    }
}
