from datetime import date, datetime, timedelta, timezone

from hiring_signals.pipeline import as_of_date_for, as_of_end, completeness_watermark
from hiring_signals.storage import Interval


def day(n):
    start = datetime(2026, 5, 1, tzinfo=timezone.utc) + timedelta(days=n)
    return Interval(start, start + timedelta(days=1))


def test_watermark_stops_at_the_first_gap():
    assert completeness_watermark([day(0), day(1), day(3)]) == day(1).end
    assert completeness_watermark([day(0), day(1), day(2)]) == day(2).end
    assert completeness_watermark([]) is None


def test_overlapping_and_finer_intervals_count():
    half = Interval(day(1).start, day(1).start + timedelta(hours=12))
    rest = Interval(half.end, day(1).end)
    assert completeness_watermark([day(0), half, rest, day(2)]) == day(2).end


def test_as_of_date_is_the_last_whole_day_known():
    assert as_of_date_for(datetime(2026, 5, 2, tzinfo=timezone.utc)) == date(2026, 5, 1)
    assert as_of_date_for(datetime(2026, 5, 2, 13, tzinfo=timezone.utc)) == date(2026, 5, 1)
    assert as_of_end(date(2026, 5, 1)) == datetime(2026, 5, 2, tzinfo=timezone.utc)


def test_runs_commit_one_batch_per_day():
    from hiring_signals.pipeline import daily_batches

    week = daily_batches(day(0).start, day(7).start)
    assert [b.key for b in week] == [day(n).key for n in range(7)]
    assert daily_batches(day(0).start, day(1).start) == [day(0)]
    hour = Interval(day(0).start, day(0).start + timedelta(hours=1))
    assert daily_batches(hour.start, hour.end) == [hour]  # sub-daily schedules keep their own batches
    assert daily_batches(day(0).start, day(7).start, until=date(2026, 5, 3)) == [day(0), day(1)]
    assert daily_batches(day(5).start, day(7).start, until=date(2026, 5, 3)) == []
