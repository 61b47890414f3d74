//! Our WSDL of the SIL web services, served at `/ws/pa/PagamentiTelematiciDovutiPagati.wsdl`, and
//! the payload schema it imports, served beside it. Written for mypay with MyPay's target
//! namespaces, element names, types and operations, so a client generated from MyPay's WSDL works
//! unchanged. The operation elements, messages, port type and binding are generated from
//! [`Operation::ALL`], so the WSDL always lists exactly the operations `handle` dispatches.

use std::fmt::Write as _;

use super::operations::Operation;

/// The WSDL's file name.
pub const WSDL_NAME: &str = "PagamentiTelematiciDovutiPagati.wsdl";
/// The payload schema's file name, as the WSDL imports it.
pub const XSD_NAME: &str = "PagInf_Dovuti_Pagati_6_2_0.xsd";

/// The request and response types of every operation (`ppt`) and the header (`ppthead`).
const TYPES: &str = include_str!("schema/types.xsd.part");
/// The payload documents (`pay_i`): Dovuti, Versamento, Pagati, PagatiConRicevuta.
const PAYLOAD_XSD: &str = include_str!("schema/PagInf_Dovuti_Pagati_6_2_0.xsd");

const TNS: &str = "http://www.regione.veneto.it/pagamenti/ente/PagamentiTelematiciDovutiPagati";

/// The document named `file`, with the endpoint at `base_url` + `/ws/pa/`; `None` for any other name.
pub fn document(file: &str, base_url: &str) -> Option<String> {
    match file {
        WSDL_NAME => Some(wsdl(base_url)),
        XSD_NAME => Some(PAYLOAD_XSD.to_owned()),
        _ => None,
    }
}

fn wsdl(base_url: &str) -> String {
    let mut elements = String::new();
    for op in Operation::ALL {
        let name = op.name();
        let _ = write!(
            elements,
            "<xsd:element name=\"{name}\" type=\"ppt:{name}\"/>\n<xsd:element name=\"{name}Risposta\" type=\"ppt:{name}Risposta\"/>\n"
        );
    }
    for item in ["paaSILAvvisoPendente", "paaSILPosizioniAperte", "paaSILStoricoPagamenti"] {
        let _ = writeln!(elements, "<xsd:element name=\"{item}\" type=\"ppt:{item}\"/>");
    }
    let (mut messages, mut port, mut binding) = (String::new(), String::new(), String::new());
    for op in Operation::ALL {
        let name = op.name();
        let header =
            if op.has_header() { "<wsdl:part name=\"header\" element=\"ppthead:intestazionePPT\"/>" } else { "" };
        let _ = write!(
            messages,
            "<wsdl:message name=\"{name}\"><wsdl:part name=\"bodyrichiesta\" element=\"ppt:{name}\"/>{header}</wsdl:message>\n\
             <wsdl:message name=\"{name}Response\"><wsdl:part name=\"bodyrisposta\" element=\"ppt:{name}Risposta\"/></wsdl:message>\n"
        );
        let _ = writeln!(
            port,
            "<wsdl:operation name=\"{name}\"><wsdl:input name=\"{name}\" message=\"tns:{name}\"/>\
             <wsdl:output name=\"{name}Response\" message=\"tns:{name}Response\"/></wsdl:operation>"
        );
        let soap_header = if op.has_header() {
            format!("<soap:header message=\"tns:{name}\" part=\"header\" use=\"literal\"/>")
        } else {
            String::new()
        };
        let _ = writeln!(
            binding,
            "<wsdl:operation name=\"{name}\"><soap:operation soapAction=\"{name}\" style=\"document\"/>\
             <wsdl:input name=\"{name}\">{soap_header}<soap:body parts=\"bodyrichiesta\" use=\"literal\"/></wsdl:input>\
             <wsdl:output name=\"{name}Response\"><soap:body use=\"literal\"/></wsdl:output></wsdl:operation>"
        );
    }
    let location = crate::soap::escape(&format!("{}/ws/pa/", base_url.trim_end_matches('/'))).into_owned();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!-- mypay: the MyPay-compatible SIL web services (payments started at the municipality, debt\n     \
         positions, debt flows, receipt exports). Written for mypay. -->\n\
         <wsdl:definitions xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\" xmlns:soap=\"http://schemas.xmlsoap.org/wsdl/soap/\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:ppt=\"http://www.regione.veneto.it/pagamenti/ente/\" \
         xmlns:ppthead=\"http://www.regione.veneto.it/pagamenti/ente/ppthead\" \
         xmlns:pay_i=\"http://www.regione.veneto.it/schemas/2012/Pagamenti/Ente/\" xmlns:tns=\"{TNS}\" \
         name=\"PagamentiTelematiciDovutiPagatiService\" targetNamespace=\"{TNS}\">\n\
         <wsdl:types>\n{}</wsdl:types>\n{messages}\
         <wsdl:portType name=\"PagamentiTelematiciDovutiPagati\">\n{port}</wsdl:portType>\n\
         <wsdl:binding name=\"PagamentiTelematiciDovutiPagatiBinding\" type=\"tns:PagamentiTelematiciDovutiPagati\">\n\
         <soap:binding style=\"document\" transport=\"http://schemas.xmlsoap.org/soap/http\"/>\n{binding}</wsdl:binding>\n\
         <wsdl:service name=\"PagamentiTelematiciDovutiPagatiService\">\
         <wsdl:port name=\"PagamentiTelematiciDovutiPagatiPort\" binding=\"tns:PagamentiTelematiciDovutiPagatiBinding\">\
         <soap:address location=\"{location}\"/></wsdl:port></wsdl:service>\n</wsdl:definitions>\n",
        TYPES.replace("@ELEMENTS@", &elements)
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn every_operation_has_its_elements_message_and_binding() {
        let wsdl = document(WSDL_NAME, "https://pagamenti.example.it/").unwrap();
        crate::soap::parse_document(wsdl.as_bytes()).unwrap();
        for op in Operation::ALL {
            let name = op.name();
            for needle in [
                format!("<xsd:complexType name=\"{name}\">"),
                format!("<xsd:complexType name=\"{name}Risposta\">"),
                format!("<xsd:element name=\"{name}Risposta\" type=\"ppt:{name}Risposta\"/>"),
                format!("<soap:operation soapAction=\"{name}\" style=\"document\"/>"),
            ] {
                assert!(wsdl.contains(&needle), "{needle}");
            }
        }
        assert!(wsdl.contains("<soap:address location=\"https://pagamenti.example.it/ws/pa/\"/>"));
        assert!(wsdl.contains("schemaLocation=\"PagInf_Dovuti_Pagati_6_2_0.xsd\""));
        assert!(document("other.xsd", "x").is_none());
    }
}
