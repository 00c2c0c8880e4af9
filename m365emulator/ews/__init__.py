"""Exchange Web Services (/EWS/Exchange.asmx): the SOAP surface on-premises Exchange offers legacy password sync."""
