"""Config schema: bundled configs load, bad settings fail with the setting's name."""

import pytest

from seglab.config import (
    apply_overrides,
    check_config_key,
    config_keys,
    load_config,
    parse_config,
    read_config_dict,
)
from seglab.errors import ConfigError

MINIMAL = {
    "name": "t",
    "data": {
        "transactions": {
            "path": "x.csv",
            "columns": {"customer_id": "c", "timestamp": "t", "amount": "a"},
        }
    },
}


@pytest.mark.parametrize("name", ["demo-retail", "demo-b2b", "online-retail"])
def test_bundled_configs_are_valid(repo, name):
    cfg = load_config(repo / "configs" / f"{name}.yaml")
    assert cfg.name == name


def test_minimal_config_gets_defaults():
    cfg = parse_config(MINIMAL)
    assert cfg.cleaning.returns == "drop"
    assert cfg.brief.min_segment_share == 0.05


def test_unknown_setting_is_named_with_allowed_names():
    raw = {**MINIMAL, "cleaning": {"retruns": "net"}}
    with pytest.raises(ConfigError) as exc:
        parse_config(raw, "my.yaml")
    msg = str(exc.value)
    assert (
        "my.yaml" in msg
        and "`cleaning.retruns`" in msg
        and "returns" in msg
        and "duplicates" in msg
    )


def test_bad_choice_names_value_and_options():
    raw = {**MINIMAL, "cleaning": {"returns": "dorp"}}
    with pytest.raises(ConfigError, match=r"cleaning\.returns.*'drop' or 'net'.*'dorp'"):
        parse_config(raw)


def test_value_columns_required():
    raw = {
        "name": "t",
        "data": {"transactions": {"path": "x", "columns": {"customer_id": "c", "timestamp": "t"}}},
    }
    with pytest.raises(ConfigError, match="amount.*quantity.*unit_price"):
        parse_config(raw)


def test_name_without_spaces():
    with pytest.raises(ConfigError, match="name"):
        parse_config({**MINIMAL, "name": "my run"})


def test_missing_file_and_bad_yaml(tmp_path):
    with pytest.raises(ConfigError, match="not found"):
        read_config_dict(tmp_path / "nope.yaml")
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: [unclosed")
    with pytest.raises(ConfigError, match="not valid YAML"):
        read_config_dict(bad)


def test_overrides_apply_and_validate():
    raw = apply_overrides(MINIMAL, {"cleaning.returns": "net", "brief.min_segment_share": 0.1})
    cfg = parse_config(raw)
    assert cfg.cleaning.returns == "net" and cfg.brief.min_segment_share == 0.1
    assert "cleaning" not in MINIMAL  # the input is not modified
    with pytest.raises(ConfigError, match="`cleaning.retruns`.*allowed: .*returns"):
        apply_overrides(MINIMAL, {"cleaning.retruns": "net"})
    with pytest.raises(ConfigError, match="single value"):
        check_config_key("random_state.x")


def test_config_keys_lists_nested_settings():
    keys = config_keys()
    assert {"cleaning.returns", "brief.objective", "data.transactions.columns.customer_id"} <= set(
        keys
    )
