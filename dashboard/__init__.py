"""The Streamlit dashboard: pages only read (through `dashboard.data`) and render; heavy work lives elsewhere."""
