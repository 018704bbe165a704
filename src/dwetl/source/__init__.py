"""The source side: reading the ERP through connectorx, typed exactly as the transforms expect."""
