//! Our WSDL of MyPivot's SIL services, served at `/ws/pivot/?wsdl` and
//! `/ws/pivot/PagamentiTelematiciPagatiRiconciliati.wsdl`. Written for mypay with MyPivot's target
//! namespace, element names, types and operations, so a client generated from
//! `mypivot-per-ente.wsdl` works unchanged; the receipt and reporting-flow types it uses are
//! declared inline (`schema/pivot_types.xsd.part`), so the document stands alone. Elements,
//! messages, port type and binding are generated from [`Operation::ALL`].

use std::fmt::Write as _;

use super::Operation;

/// The WSDL's file name.
pub const WSDL_NAME: &str = "PagamentiTelematiciPagatiRiconciliati.wsdl";

/// The types: header, RT and FdR parts, then the operations' (`@ELEMENTS@` is replaced).
const TYPES: &str = include_str!("../schema/pivot_types.xsd.part");

const TNS: &str = "http://www.regione.veneto.it/pagamenti/pivot/ente/PagamentiTelematiciPagatiRiconciliati";
const NAME: &str = "PagamentiTelematiciPagatiRiconciliati";

/// The WSDL with the endpoint at `base_url` + `/ws/pivot/`.
pub fn document(base_url: &str) -> String {
    let (mut elements, mut messages, mut port, mut binding) =
        (String::new(), String::new(), String::new(), String::new());
    for op in Operation::ALL {
        let name = op.name();
        let _ = write!(
            elements,
            "<xsd:element name=\"{name}\" type=\"ppt:{name}\"/>\n<xsd:element name=\"{name}Risposta\" type=\"ppt:{name}Risposta\"/>\n"
        );
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
        let (soap_header, parts) = if op.has_header() {
            (
                format!("<soap:header message=\"tns:{name}\" part=\"header\" use=\"literal\"/>"),
                " parts=\"bodyrichiesta\"",
            )
        } else {
            (String::new(), "")
        };
        let _ = writeln!(
            binding,
            "<wsdl:operation name=\"{name}\"><soap:operation soapAction=\"{name}\" style=\"document\"/>\
             <wsdl:input name=\"{name}\">{soap_header}<soap:body{parts} use=\"literal\"/></wsdl:input>\
             <wsdl:output name=\"{name}Response\"><soap:body use=\"literal\"/></wsdl:output></wsdl:operation>"
        );
    }
    let location = crate::soap::escape(&format!("{}/ws/pivot/", base_url.trim_end_matches('/'))).into_owned();
    format!(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n\
         <!-- mypay: MyPivot's SIL web services (reconciliation uploads, receipts with their reporting, \
         closed accertamenti). Written for mypay. -->\n\
         <wsdl:definitions xmlns:wsdl=\"http://schemas.xmlsoap.org/wsdl/\" xmlns:soap=\"http://schemas.xmlsoap.org/wsdl/soap/\" \
         xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" xmlns:ppt=\"{}\" xmlns:ppthead=\"{}\" xmlns:pay_i_rve=\"{}\" \
         xmlns:pay_i_agid=\"{}\" xmlns:tns=\"{TNS}\" name=\"{NAME}Service\" targetNamespace=\"{TNS}\">\n\
         <wsdl:types>\n{}</wsdl:types>\n{messages}\
         <wsdl:portType name=\"{NAME}\">\n{port}</wsdl:portType>\n\
         <wsdl:binding name=\"{NAME}Binding\" type=\"tns:{NAME}\">\n\
         <soap:binding style=\"document\" transport=\"http://schemas.xmlsoap.org/soap/http\"/>\n{binding}</wsdl:binding>\n\
         <wsdl:service name=\"{NAME}Service\"><wsdl:port name=\"{NAME}Port\" binding=\"tns:{NAME}Binding\">\
         <soap:address location=\"{location}\"/></wsdl:port></wsdl:service>\n</wsdl:definitions>\n",
        super::PIVOT_NS,
        super::PIVOT_HEAD_NS,
        super::RVE_NS,
        super::AGID_NS,
        TYPES.replace("@ELEMENTS@", &elements)
    )
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used, clippy::indexing_slicing, clippy::panic)]
    use super::*;

    #[test]
    fn every_operation_has_its_types_message_and_binding() {
        let wsdl = document("https://pagamenti.example.it/");
        crate::soap::parse_document(wsdl.as_bytes()).unwrap();
        assert_eq!(wsdl.matches("<soap:operation ").count(), 10);
        assert_eq!(wsdl.matches("<soap:header ").count(), 9, "all but pivotSILChiediPagatiRiconciliati");
        for op in Operation::ALL {
            let name = op.name();
            for needle in [
                format!("<xsd:complexType name=\"{name}\">"),
                format!("<xsd:complexType name=\"{name}Risposta\">"),
                format!("<soap:operation soapAction=\"{name}\" style=\"document\"/>"),
            ] {
                assert!(wsdl.contains(&needle), "{needle}");
            }
        }
        assert!(wsdl.contains("<soap:address location=\"https://pagamenti.example.it/ws/pivot/\"/>"));
    }
}
