"""Local fakes of amoCRM and Bitrix24 (127.0.0.1 only), faithful to the vendors' behaviour in
``crm-apis.md`` section 0, for tests and for trying ``funnelc`` without an account:
``python -m funnelc.fakes amocrm|bitrix24 [--port N]``."""
