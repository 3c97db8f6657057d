import json

from model.cli import main


def test_thresholds_json_and_plots(tmp_path, capsys):
    assert main(["thresholds", "--json", "--plot", str(tmp_path)]) == 0
    document = json.loads(capsys.readouterr().out)
    from model.decision import classic_thresholds, load_decision_parameters, surveillance_loss

    params = load_decision_parameters()
    late, early, classic = (
        document["thresholds"],
        document["thresholds_early"],
        document["classic_thresholds"],
    )
    assert 0 < classic["test"] < classic["treat"] < classic["test_treat"] < 1
    assert classic == classic_thresholds(params)._asdict()
    assert document["surveillance_loss"] == surveillance_loss(params)
    # surveillance costs a recurrence less than never treating it: treat later, biopsy never
    assert classic["treat"] < late["treat"] < early["treat"] < 1
    assert late["test"] > late["test_treat"] and document["biopsy_ever_best"] is False
    for name in ("thresholds.png", "threshold_shift.png", "tornado.png", "psa.png"):
        assert (tmp_path / name).stat().st_size > 10_000


def test_policy_prints_bands_for_three_rounds(capsys, tmp_path):
    from conftest import DATA

    assert (
        main(
            [
                "policy",
                str(DATA / "fit.nc"),
                "--rounds",
                "3",
                "--json",
                "--plot",
                str(tmp_path / "p.png"),
            ]
        )
        == 0
    )
    bands = json.loads(capsys.readouterr().out)["bands"]
    assert {b["rescans_left"] for b in bands} == {0, 1, 2, 3}
    assert (tmp_path / "p.png").exists()
    assert main(["policy", str(DATA / "fit.nc")]) == 0
    out = capsys.readouterr().out
    assert "Rescan policy" in out and "rescan" in out


def test_decide_table_and_bad_params(capsys, tmp_path):
    from conftest import DATA

    assert main(["decide", str(DATA / "fit.nc"), str(DATA / "patients_example.csv")]) == 0
    out = capsys.readouterr().out
    assert (
        "EX3-grayzone-no-pet" in out
        and "What would change the decision" in out
        and "not a diagnosis" in out
        and "Beside the radiology categories" in out
        and "preliminary PD" in out
    )
    bad = tmp_path / "bad.toml"
    bad.write_text("[benefit]\nvalue = 0\n")
    assert (
        main(
            [
                "decide",
                str(DATA / "fit.nc"),
                str(DATA / "patients_example.csv"),
                "--params",
                str(bad),
            ]
        )
        == 2
    )
    assert "benefit.value" in capsys.readouterr().err


def test_decide_json_carries_the_categories_of_the_predictions(capsys):
    from conftest import DATA

    from model.scoring.predict import predict

    examples = str(DATA / "patients_example.csv")
    assert main(["decide", str(DATA / "fit.nc"), examples, "--json"]) == 0
    decisions = json.loads(capsys.readouterr().out)["decisions"]
    predicted = predict(str(DATA / "fit.nc"), examples)
    columns = ["btrads", "btrads_basis", "rano", "rano_basis", "btrads_read", "category_flag"]
    assert [{c: d[c] for c in columns} for d in decisions] == predicted[columns].to_dict("records")


def test_a_bare_number_in_a_params_file_is_shown_its_table_form(tmp_path, capsys):
    bare = tmp_path / "bare.toml"
    bare.write_text("delay_loss = 3\n")
    assert main(["thresholds", "--params", str(bare)]) == 2
    err = capsys.readouterr().err
    assert "bare.toml" in err and "[delay_loss]" in err and "value = 3" in err


def test_decide_plots_one_figure_per_lesion_of_a_patient(tmp_path, capsys):
    """Two lesions of one patient get a figure each, named by lesion, not one overwriting the
    other under the patient's id."""
    from conftest import DATA

    rows = (DATA / "patients_example.csv").read_text().splitlines()
    two = tmp_path / "two.csv"
    two.write_text("\n".join([rows[0], *(r for r in rows if r.startswith("EX9"))]) + "\n")
    assert main(["decide", str(DATA / "fit.nc"), str(two), "--plot", str(tmp_path / "p")]) == 0
    names = sorted(p.name for p in (tmp_path / "p").iterdir())
    assert names == [
        "decide_EX9-two-lesions_L1-frontal.png",
        "decide_EX9-two-lesions_L2-callosal.png",
    ]
    assert "EX9-two-lesions / L2-callosal" in capsys.readouterr().out


def test_a_grouped_number_in_a_params_file_exits_2_naming_it(tmp_path, capsys):
    grouped = tmp_path / "grouped.toml"
    grouped.write_text("[harm]\nvalue = 1_5\n")
    assert main(["thresholds", "--params", str(grouped)]) == 2
    err = capsys.readouterr().err
    assert "grouped.toml, column 'harm.value': got '1_5'; expected a number in plain" in err
    assert "Traceback" not in err


def test_a_parameter_file_under_which_watching_costs_more_than_treating_is_refused(
    tmp_path, capsys
):
    """Four rounds of surveillance read at 50% specificity, each false alarm worked up by a
    biopsy costing 4 QALW, against a harm of 2: watching a necrosis (M = 0.875 x 4.1) would
    cost more than treating it, and the treatment threshold would leave [0, 1]."""
    params = tmp_path / "watching.toml"
    params.write_text(
        "[harm]\nvalue = 2.0\n[biopsy_harm]\nvalue = 4.0\n"
        "[surveillance_specificity]\nvalue = 0.5\nlow = 0.5\n"
        "[surveillance_rounds]\nvalue = 4\n"
    )
    assert main(["thresholds", "--params", str(params)]) == 2
    err = capsys.readouterr().err
    assert "watching.toml" in err and "harm.value" in err and "Traceback" not in err
    assert "treating a necrosis costs more than watching it" in err
    assert "falls outside [0, 1]" in err and "cost 3.59" in err
