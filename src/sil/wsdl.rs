//! Our WSDLs of the SIL web services, served at `/ws/pa/PagamentiTelematiciDovutiPagati.wsdl` (with
//! the payload schema it imports, served beside it) and `/ws/pa/PagamentiTelematiciFlussiSPC.wsdl`
//! (the reporting flows). Written for mypay with MyPay's target namespaces, element names, types
//! and operations, so a client generated from MyPay's WSDLs works unchanged. The operation
//! elements, messages, port type and binding are generated from [`Operation::ALL`] (each WSDL the
//! operations of its namespace), so the two always list exactly the operations `handle` dispatches.

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

/// The reporting flows' WSDL (MyPay's companion `mypivot-pa-per-ente.wsdl`), served beside it.
pub const FLUSSI_WSDL_NAME: &str = "PagamentiTelematiciFlussiSPC.wsdl";
/// Its request and response types (`ppt` = `…/pagamenti/pa/`).
const FLUSSI_TYPES: &str = include_str!("schema/flussi_spc.xsd.part");
const FLUSSI_TNS: &str = "http://www.regione.veneto.it/pagamenti/pa/PagamentiTelematiciFlussiSPC";

/// The document named `file`, with the endpoint at `base_url` + `/ws/pa/`; `None` for any other name.
pub fn document(file: &str, base_url: &str) -> Option<String> {
    match file {
        WSDL_NAME => Some(wsdl(&DOVUTI_PAGATI, base_url)),
        FLUSSI_WSDL_NAME => Some(wsdl(&FLUSSI_SPC, base_url)),
        XSD_NAME => Some(PAYLOAD_XSD.to_owned()),
        _ => None,
    }
}

/// One of the two services: its names, its types, and the operations of its namespace.
struct Service {
    /// The port type's name; the service is `<name>Service`, the binding `<name>Binding`.
    name: &'static str,
    tns: &'static str,
    /// The namespaces besides `wsdl`, `soap`, `xsd` and `tns`.
    namespaces: &'static str,
    types: &'static str,
    /// The operation elements' namespace.
    ns: &'static str,
    /// Item elements declared besides the operations'.
    items: &'static [&'static str],
    comment: &'static str,
}

const DOVUTI_PAGATI: Service = Service {
    name: "PagamentiTelematiciDovutiPagati",
    tns: TNS,
    namespaces: "xmlns:ppt=\"http://www.regione.veneto.it/pagamenti/ente/\" \
                 xmlns:ppthead=\"http://www.regione.veneto.it/pagamenti/ente/ppthead\" \
                 xmlns:pay_i=\"http://www.regione.veneto.it/schemas/2012/Pagamenti/Ente/\"",
    types: TYPES,
    ns: super::PPT_NS,
    items: &["paaSILAvvisoPendente", "paaSILPosizioniAperte", "paaSILStoricoPagamenti"],
    comment: "the MyPay-compatible SIL web services (payments started at the municipality, debt\n     \
              positions, debt flows, receipt exports)",
};

const FLUSSI_SPC: Service = Service {
    name: "PagamentiTelematiciFlussiSPC",
    tns: FLUSSI_TNS,
    namespaces: "xmlns:ppt=\"http://www.regione.veneto.it/pagamenti/pa/\"",
    types: FLUSSI_TYPES,
    ns: super::PA_NS,
    items: &[],
    comment: "the pagoPA reporting flows (FdR) of an org, listed and downloaded as from MyPay's\n     \
              companion service PagamentiTelematiciFlussiSPC",
};

fn wsdl(service: &Service, base_url: &str) -> String {
    let ops: Vec<Operation> = Operation::ALL.into_iter().filter(|op| op.namespace() == service.ns).collect();
    let mut elements = String::new();
    for op in &ops {
        let name = op.name();
        let _ = write!(
            elements,
            "<xsd:element name=\"{name}\" type=\"ppt:{name}\"/>\n<xsd:element name=\"{name}Risposta\" type=\"ppt:{name}Risposta\"/>\n"
        );
    }
    for item in service.items {
        let _ = writeln!(elements, "<xsd:element name=\"{item}\" type=\"ppt:{item}\"/>");
    }
    let (mut messages, mut port, mut binding) = (String::new(), String::new(), String::new());
    for op in &ops {
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
    let Service { name, tns, namespaces, comment, .. } = service;
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!-- mypay: {comment}. Written for mypay. -->\n\
         <wsdl:definitions xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\" xmlns:soap=\"http://schemas.xmlsoap.org/wsdl/soap/\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" {namespaces} xmlns:tns=\"{tns}\" \
         name=\"{name}Service\" targetNamespace=\"{tns}\">\n\
         <wsdl:types>\n{}</wsdl:types>\n{messages}\
         <wsdl:portType name=\"{name}\">\n{port}</wsdl:portType>\n\
         <wsdl:binding name=\"{name}Binding\" type=\"tns:{name}\">\n\
         <soap:binding style=\"document\" transport=\"http://schemas.xmlsoap.org/soap/http\"/>\n{binding}</wsdl:binding>\n\
         <wsdl:service name=\"{name}Service\">\
         <wsdl:port name=\"{name}Port\" binding=\"tns:{name}Binding\">\
         <soap:address location=\"{location}\"/></wsdl:port></wsdl:service>\n</wsdl:definitions>\n",
        service.types.replace("@ELEMENTS@", &elements)
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn every_operation_has_its_elements_message_and_binding() {
        let wsdl = document(WSDL_NAME, "https://pagamenti.example.it/").unwrap();
        let flussi = document(FLUSSI_WSDL_NAME, "https://pagamenti.example.it/").unwrap();
        crate::soap::parse_document(wsdl.as_bytes()).unwrap();
        crate::soap::parse_document(flussi.as_bytes()).unwrap();
        assert_eq!(wsdl.matches("<soap:operation ").count(), 18);
        assert_eq!(flussi.matches("<soap:operation ").count(), 2);
        assert!(flussi.contains("targetNamespace=\"http://www.regione.veneto.it/pagamenti/pa/\""));
        for op in Operation::ALL {
            let wsdl = if op.namespace() == super::super::PA_NS { &flussi } else { &wsdl };
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
