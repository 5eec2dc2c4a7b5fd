"""数字城管: unit grids, components (部件), cases and their workflow, KPIs (see issue "grid/")."""
