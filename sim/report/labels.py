"""Every word the report shows, in Chinese (zh) and English (en), and how numbers are written.

``LABELS[lang][key]`` holds one title, axis label, legend entry, table header or sentence
template; both languages have exactly the same keys. Figures, tables and sentences look words up
with :func:`t` (a missing key is a KeyError, never a silent English word on a Chinese page).
Policy chains such as ``pairing+broadcast`` are translated name by name and joined with " + ".
"""

from __future__ import annotations

import math
from pathlib import Path

from sim.scenario import parse_chain

LANGS = ("zh", "en")

#: how a metric is shown: multiply by ``scale``, keep ``digits`` decimals, in ``unit``
#: (a ``diff_unit`` for differences, e.g. percentage points for shares)
FORMATS: dict[str, tuple[float, int, str, str]] = {
    "requests": (1.0, 0, "unit.orders", "unit.orders"),
    "served": (1.0, 0, "unit.orders", "unit.orders"),
    "unmet": (1.0, 0, "unit.orders", "unit.orders"),
    "response_time_mean_min": (1.0, 1, "unit.min", "unit.min"),
    "response_time_p50_min": (1.0, 1, "unit.min", "unit.min"),
    "response_time_p90_min": (1.0, 1, "unit.min", "unit.min"),
    "response_time_p95_min": (1.0, 1, "unit.min", "unit.min"),
    "wait_mean_min": (1.0, 1, "unit.min", "unit.min"),
    "served_within_15min_share": (100.0, 1, "unit.pct", "unit.pp"),
    "served_within_30min_share": (100.0, 1, "unit.pct", "unit.pp"),
    "coverage_15min_share": (100.0, 1, "unit.pct", "unit.pp"),
    "volunteer_utilisation": (100.0, 2, "unit.pct", "unit.pp"),
    "workload_gini": (1.0, 3, "unit.none", "unit.none"),
    "workload_max_orders": (1.0, 1, "unit.orders", "unit.orders"),
    "continuity_share": (100.0, 1, "unit.pct", "unit.pp"),
    "rating_mean": (1.0, 2, "unit.stars", "unit.stars"),
    "active_volunteers": (1.0, 0, "unit.people", "unit.people"),
    "paired_elders_share": (100.0, 1, "unit.pct", "unit.pp"),
    "unmet_share": (100.0, 1, "unit.pct", "unit.pp"),
    "helpers_60_69_per_eligible_elder": (1.0, 2, "unit.none", "unit.none"),
    "active_volunteer_age_mean_years": (1.0, 1, "unit.none", "unit.none"),
    "burnout_stops": (1.0, 0, "unit.people", "unit.people"),
    "urgent_within_window_share": (100.0, 1, "unit.pct", "unit.pp"),
    "same_day_within_window_share": (100.0, 1, "unit.pct", "unit.pp"),
    "scheduled_within_window_share": (100.0, 1, "unit.pct", "unit.pp"),
    "urgent_unmet_share": (100.0, 1, "unit.pct", "unit.pp"),
    "same_day_unmet_share": (100.0, 1, "unit.pct", "unit.pp"),
    "scheduled_unmet_share": (100.0, 1, "unit.pct", "unit.pp"),
    "urgent_response_time_p50_min": (1.0, 1, "unit.min", "unit.min"),
    "urgent_response_time_p90_min": (1.0, 1, "unit.min", "unit.min"),
    "urgent_response_time_p95_min": (1.0, 1, "unit.min", "unit.min"),
    "scheduled_lead_time_mean_h": (1.0, 1, "unit.hours", "unit.hours"),
    "eligible_within_window_share": (100.0, 1, "unit.pct", "unit.pp"),
    "eligible_unmet_share": (100.0, 1, "unit.pct", "unit.pp"),
    "eligible_served_by_pair_share": (100.0, 1, "unit.pct", "unit.pp"),
    "acceptance_share": (100.0, 1, "unit.pct", "unit.pp"),
    "willing_coverage_15min_share": (100.0, 1, "unit.pct", "unit.pp"),
    "budget_utilisation": (100.0, 1, "unit.pct", "unit.pp"),
    "busiest_decile_utilisation": (100.0, 1, "unit.pct", "unit.pp"),
    "top_decile_served_share": (100.0, 1, "unit.pct", "unit.pp"),
    "orders_per_helper_per_month": (1.0, 2, "unit.orders", "unit.orders"),
}

_ZH_METRICS = {
    "metric.requests": "服务需求（单）",
    "metric.served": "已服务订单",
    "metric.unmet": "未满足订单",
    "metric.unmet_share": "未满足订单占比",
    "metric.response_time_mean_min": "平均响应时间",
    "metric.response_time_p50_min": "响应时间中位数",
    "metric.response_time_p90_min": "第90百分位响应时间",
    "metric.response_time_p95_min": "第95百分位响应时间",
    "metric.wait_mean_min": "平均等待接单时间",
    "metric.served_within_15min_share": "15分钟内服务占比",
    "metric.served_within_30min_share": "30分钟内服务占比",
    "metric.coverage_15min_share": "15分钟服务圈覆盖率",
    "metric.volunteer_utilisation": "志愿者忙碌率",
    "metric.workload_gini": "工作量基尼系数",
    "metric.workload_max_orders": "单人最多服务单数",
    "metric.continuity_share": "熟人服务占比",
    "metric.rating_mean": "平均评分",
    "metric.active_volunteers": "活跃志愿者",
    "metric.paired_elders_share": "已结对老人占比",
    "metric.urgent_within_window_share": "紧急需求15分钟内到达占比",
    "metric.same_day_within_window_share": "当日需求按时服务占比",
    "metric.scheduled_within_window_share": "预约服务准时占比",
    "metric.urgent_unmet_share": "紧急需求未满足占比",
    "metric.same_day_unmet_share": "当日需求未满足占比",
    "metric.scheduled_unmet_share": "预约服务未满足占比",
    "metric.urgent_response_time_p50_min": "紧急需求响应时间中位数",
    "metric.urgent_response_time_p90_min": "紧急需求第90百分位响应时间",
    "metric.urgent_response_time_p95_min": "紧急需求第95百分位响应时间",
    "metric.scheduled_lead_time_mean_h": "预约提前时间（平均）",
    "metric.eligible_within_window_share": "结对对象老人按时服务占比",
    "metric.eligible_unmet_share": "结对对象老人未满足占比",
    "metric.eligible_served_by_pair_share": "结对对象老人由结对志愿者服务占比",
    "metric.acceptance_share": "派单接单率",
    "metric.willing_coverage_15min_share": "15分钟内有愿意服务的志愿者的老人占比",
    "metric.budget_utilisation": "志愿时间使用率",
    "metric.busiest_decile_utilisation": "最忙10%志愿者的时间使用率",
    "metric.top_decile_served_share": "最忙10%志愿者承担的服务占比",
    "metric.orders_per_helper_per_month": "每位服务者每月服务单数",
    "metric.helpers_60_69_per_eligible_elder": "每位结对对象老人对应的60–69岁活跃志愿者",
    "metric.active_volunteer_age_mean_years": "活跃志愿者平均年龄（岁）",
    "metric.burnout_stops": "因倦怠停止服务的志愿者",
}
_EN_METRICS = {
    "metric.requests": "Requests",
    "metric.served": "Orders served",
    "metric.unmet": "Orders unmet",
    "metric.unmet_share": "Share of orders unmet",
    "metric.response_time_mean_min": "Mean response time",
    "metric.response_time_p50_min": "Median response time",
    "metric.response_time_p90_min": "90th-percentile response time",
    "metric.response_time_p95_min": "95th-percentile response time",
    "metric.wait_mean_min": "Mean wait for acceptance",
    "metric.served_within_15min_share": "Share served within 15 minutes",
    "metric.served_within_30min_share": "Share served within 30 minutes",
    "metric.coverage_15min_share": "15-minute circle coverage",
    "metric.volunteer_utilisation": "Volunteer utilisation",
    "metric.workload_gini": "Workload Gini",
    "metric.workload_max_orders": "Most orders by one volunteer",
    "metric.continuity_share": "Share served by a familiar volunteer",
    "metric.rating_mean": "Mean rating",
    "metric.active_volunteers": "Active volunteers",
    "metric.paired_elders_share": "Elders with a pair",
    "metric.urgent_within_window_share": "Urgent orders reached within 15 minutes",
    "metric.same_day_within_window_share": "Same-day orders served in time",
    "metric.scheduled_within_window_share": "Scheduled visits on time",
    "metric.urgent_unmet_share": "Urgent orders unmet",
    "metric.same_day_unmet_share": "Same-day orders unmet",
    "metric.scheduled_unmet_share": "Scheduled visits unmet",
    "metric.urgent_response_time_p50_min": "Median urgent response time",
    "metric.urgent_response_time_p90_min": "90th-percentile urgent response time",
    "metric.urgent_response_time_p95_min": "95th-percentile urgent response time",
    "metric.scheduled_lead_time_mean_h": "Mean booking lead time",
    "metric.eligible_within_window_share": "Pairing-eligible elders served in time",
    "metric.eligible_unmet_share": "Pairing-eligible elders' orders unmet",
    "metric.eligible_served_by_pair_share": "Eligible elders' orders served by a pair",
    "metric.acceptance_share": "Offers accepted",
    "metric.willing_coverage_15min_share": "Elders with a willing volunteer within 15 min",
    "metric.budget_utilisation": "Use of volunteers' pledged hours",
    "metric.busiest_decile_utilisation": "Use of the busiest tenth's pledged hours",
    "metric.top_decile_served_share": "Services by the busiest tenth",
    "metric.orders_per_helper_per_month": "Services per helper per month",
    "metric.helpers_60_69_per_eligible_elder": "Active helpers aged 60-69 per eligible elder",
    "metric.active_volunteer_age_mean_years": "Mean age of active volunteers (years)",
    "metric.burnout_stops": "Volunteers stopping from burnout",
}

_ZH = {
    **_ZH_METRICS,
    "policy.pairing": "花甲助耄耋结对",
    "policy.nearest": "中心派单",
    "policy.broadcast": "志愿和平App广播",
    "policy.grid": "网格派单",
    "policy.station": "站点服务",
    "policy.random": "随机派单",
    "policy.neighbours": "邻里守望",
    "variable.scenario": "情景",
    "scenario.chaoyangli": "平常年份",
    "scenario.chaoyangli-stress": "冬季压力月",
    "unit.hours": "小时",
    "note.serves_only_paired": "（只服务已结对的老人）",
    "series.orders_placed": "每日订单",
    "series.orders_served": "每日已服务",
    "series.orders_unmet": "每日未满足",
    "series.active_volunteers": "活跃志愿者",
    "series.coverage_15min_share": "15分钟服务圈覆盖率",
    "yearly.paired_elders_share": "已结对的独居、空巢高龄老人（%）",
    "yearly.active_volunteers": "活跃志愿者（人）",
    "yearly.active_volunteers_60_69": "60–69岁活跃志愿者（人）",
    "yearly.residents_80_plus": "80岁及以上居民（人）",
    "yearly.response_time_p90_min": "第90百分位响应时间（分钟）",
    "yearly.unmet_share": "未满足订单占比（%）",
    "yearly.helpers_60_69_per_eligible_elder": "每位结对对象老人对应的60–69岁活跃志愿者",
    "yearly.eligible_served_by_pair_share": "结对对象老人的订单由结对志愿者服务（%）",
    "yearly.active_volunteer_age_mean_years": "活跃志愿者平均年龄（岁）",
    "yearly.burnout_stops": "因倦怠停止服务的志愿者（人/年）",
    "yearly.urgent_response_time_p90_min": "紧急需求第90百分位响应时间（分钟）",
    "yearly.urgent_unmet_share": "紧急需求未满足占比（%）",
    "yearly.same_day_unmet_share": "当日需求未满足占比（%）",
    "yearly.scheduled_unmet_share": "预约服务未满足占比（%）",
    "yearly.orders_per_helper_per_month": "每位服务过的志愿者每月服务次数",
    "sentence.threshold_below": "{policy}（{where}）在{year}年降至阈值以下",
    "sentence.threshold_above": "{policy}（{where}）到{year}年仍不低于阈值",
    "sentence.threshold": (
        "结对能否持续？每位结对对象老人对应的60–69岁活跃志愿者（阈值{threshold}）：{clauses}。"
    ),
    "sentence.threshold_runs": "（{total}次运行中{runs}次降至阈值以下，10%–90%在{early}–{late}年）",
    "sentence.threshold_runs_none": "（{total}次运行均未降至阈值以下）",
    "sentence.posterior": (
        "各次运行从历史校准接受的{sets}组参数中抽取（共用到{drawn}组），"
        "因此区间既包含随机种子的波动，也包含校准本身的不确定性。"
    ),
    "variable.volunteers.active_share_of_registered": "活跃志愿者占注册志愿者比例",
    "variable.acceptance.base_probability": "志愿者接单基础概率",
    "variable.volunteers.registered_share_of_residents": "注册志愿者占居民比例",
    "variable.volunteers.count": "活跃志愿者人数",
    "variable.demand.max_wait_min": "订单最长等待（分钟）",
    "variable.dispatch.broadcast_k": "广播首批人数",
    "variable.dispatch.pairing_max_distance_m": "结对最远距离（米）",
    "variable.travel.speed_m_per_min": "步行速度（米/分钟）",
    "variable.dynamics.recruitment_effort": "招募力度（今日 = 1）",
    "variable.dynamics.ageing_speed": "老龄化速度（今日 = 1）",
    "variable.policy": "派单方式",
    "unit.min": "分钟",
    "unit.pct": "%",
    "unit.pp": "个百分点",
    "unit.orders": "单",
    "unit.people": "人",
    "unit.stars": "星",
    "unit.none": "",
    "text.space": "",
    "text.comma": "、",
    "text.semicolon": "；",
    "page.title": "{name}：实验报告",
    "page.subtitle": "朝阳里社区志愿服务模拟（volsim）",
    "section.summary": "结论摘要",
    "section.comparison": "各派单方式与基准的差异",
    "section.distribution": "响应时间分布",
    "section.map": "社区地图：15分钟服务圈的缺口",
    "section.series": "每日订单与志愿者",
    "section.workload": "志愿者工作量",
    "section.sweep": "参数扫描：{variable}",
    "section.yearly": "逐年变化：老龄化、志愿者与结对",
    "section.sensitivity": "敏感性分析",
    "section.table": "汇总表",
    "section.about": "实验信息",
    "caption.comparison": (
        "各指标相对基准（{baseline}）的平均配对差值及95%置信区间（同一随机种子配对）。"
        "实心点：经Holm校正后显著；空心点：不显著。"
    ),
    "caption.distribution": (
        "在t分钟内得到服务的订单占全部订单的比例（各随机种子合并）；"
        "曲线的终点即已服务订单占比。虚线为15分钟。"
    ),
    "caption.map": (
        "每栋楼紧急需求的平均响应时间与未满足占比（{policies}，各随机种子合计）。"
        "红色粗框：平均响应超过15分钟且超出随机误差（各随机种子均值的95%置信区间下限高于15分钟）"
        "的楼栋，即15分钟服务圈的缺口；虚线：网格边界。"
    ),
    "caption.series": "每日数值：各随机种子的均值（线）与10%–90%分位区间（阴影）。",
    "caption.series_smoothed": ("7日滑动平均：各随机种子的均值（线）与10%–90%分位区间（阴影）。"),
    "caption.workload": (
        "左：志愿者工作量的洛伦兹曲线（各随机种子平均）；右：基尼系数的均值及95%置信区间。"
    ),
    "caption.sweep": "各指标的均值及95%置信区间随{variable}的变化，每种派单方式一条线。",
    "caption.sweep_sampled": (
        "点：每个设计点的均值（{variable}为抽样值）；线：按{variable}分为{bins}个分位组后，"
        "各组设计点均值的平均值及95%置信区间。"
    ),
    "caption.sobol": (
        "Sobol一阶指数S1（深色窄条）与总效应指数ST（浅色宽条），误差线为ST的95%置信区间。"
    ),
    "caption.morris": "Morris指数：μ*（柱，误差线为95%置信区间）与σ（点）。",
    "caption.yearly": (
        "每个模拟年年末的数值（响应时间与未满足订单占比按当年全部订单计算）："
        "各随机种子的均值（线）与10%–90%分位区间（阴影）。"
        "结对占比只对含花甲助耄耋结对的派单方式有值。"
        "各派单方式使用相同的随机种子，不受派单方式影响的序列（如居民人数）相互重合。"
    ),
    "caption.reference": "其他变量取：{values}。",
    "caption.clipped": "置信区间在指标可能的取值范围（如0–100%）处截断。",
    "caption.pooled": "合并了抽样设计中的全部设计点。",
    "caption.table": "各派单方式主要指标的均值 [95%置信区间]。",
    "note.no_policy": "本实验只有一种派单方式，没有可比较的差异。",
    "note.no_layout": "每个随机种子的社区布局不同（fixed_layout = false），无法绘制统一地图。",
    "note.layout_mismatch": "结果中的楼栋数与场景不符，无法绘制地图。",
    "note.not_applicable": "本实验没有此项数据。",
    "note.no_yearly": "本实验的模拟不足两年，没有逐年序列。",
    "figure.comparison": "与基准（{baseline}）的差异",
    "figure.distribution": "响应时间的累积分布",
    "figure.map_response": "{policy}：紧急需求平均响应时间",
    "figure.map_unmet": "{policy}：未满足订单占比",
    "figure.series": "每日序列",
    "figure.lorenz": "洛伦兹曲线",
    "figure.gini": "工作量基尼系数",
    "figure.sweep": "{variable}的影响",
    "figure.sensitivity": "敏感性指数",
    "figure.yearly": "逐年序列",
    "caption.yearly_posterior": (
        "每次运行从历史校准接受的参数组中抽取一组，阴影因此也包含校准的不确定性。"
    ),
    "axis.difference": "与基准之差（{unit}）",
    "axis.difference_plain": "与基准之差",
    "axis.response_min": "响应时间（分钟）",
    "axis.share_served_within": "t分钟内得到服务的订单占比（%）",
    "axis.day": "天",
    "axis.year": "年份",
    "axis.volunteer_share": "志愿者累计占比（%）",
    "axis.order_share": "订单累计占比（%）",
    "axis.gini": "基尼系数",
    "axis.metres": "米",
    "axis.index": "指数",
    "axis.mean_response_min": "紧急需求平均响应时间（分钟）",
    "axis.unmet_share_pct": "未满足订单占比（%）",
    "axis.parameter": "参数",
    "axis.value_unit": "{label}（{unit}）",
    "legend.baseline": "基准",
    "legend.circle": "15分钟",
    "legend.hole": "紧急需求平均响应超过15分钟，且超出随机误差（服务圈缺口）",
    "legend.service_point": "家站服务点",
    "legend.grid": "网格边界",
    "legend.no_data": "无已服务订单",
    "legend.equality": "完全平均",
    "legend.significant": "显著（Holm校正）",
    "legend.not_significant": "不显著",
    "legend.S1": "一阶指数 S1",
    "legend.ST": "总效应指数 ST",
    "legend.mu_star": "μ*",
    "legend.sigma": "σ",
    "legend.grid_label": "网格{n}",
    "table.policy": "派单方式",
    "table.runs": "运行数",
    "about.experiment": "实验",
    "about.description": "说明",
    "about.scenario": "场景",
    "about.design": "设计",
    "about.runs": "运行",
    "about.runs_value": "{runs}次运行（{points}个设计点 × {seeds}个随机种子，每次{days}天）",
    "about.failed": "失败的运行",
    "about.baseline": "基准派单方式",
    "about.created": "生成时间",
    "about.version": "模型版本",
    "about.revision": "代码版本",
    "sentence.overview": (
        "本实验共{runs}次模拟运行（{points}个设计点 × {seeds}个随机种子，每次模拟{days}天），"
        "以{baseline}为基准进行比较{where}。"
    ),
    "sentence.overview_single": (
        "本实验共{runs}次模拟运行（{points}个设计点 × {seeds}个随机种子，每次模拟{days}天），"
        "只有一种派单方式：{baseline}{where}。"
    ),
    "sentence.where": "，其他变量取{values}",
    "sentence.where_pooled": "，结果合并了全部抽样设计点",
    "sentence.lower": "{policy}将{metric}从{base}降至{value}",
    "sentence.higher": "{policy}将{metric}从{base}升至{value}",
    "sentence.same": "{policy}的{metric}与基准相同（{value}）",
    "sentence.interval": "（差值{diff}，95%置信区间{low}至{high}；{significance}）",
    "sentence.significant": "经Holm校正后差异显著，p {p}",
    "sentence.not_significant": "经Holm校正后差异不显著，p {p}",
    "sentence.untested": "随机种子太少，无法检验",
    "sentence.unmet": "，{unmet}%的订单未得到满足（基准为{base_unmet}%）。",
    "sentence.end": "。",
    "sentence.holm": (
        "置信区间未做多重比较校正；是否显著按Holm校正后的p值判断（共{tests}项比较）。"
    ),
    "sentence.best": "{metric}最低的是{policy}（{value}）。",
    "sentence.best_high": "{metric}最高的是{policy}（{value}）。",
    "sentence.in_scenario": "在{scenario}中（每次模拟{days}天）：",
    "sentence.holes": (
        "在{policy}下，{buildings}栋楼中有{holes}栋紧急需求的平均响应时间超过15分钟且超出随机误差，"
        "是15分钟志愿服务圈的缺口。"
    ),
    "sentence.no_holes": (
        "在{policy}下，{buildings}栋楼中没有一栋紧急需求的平均响应时间超出随机误差地超过15分钟。"
    ),
    "sentence.sensitivity": "对{metric}影响最大的参数是{parameter}（{index} = {value}）。",
    "sentence.failed": "有{failed}次运行未完成（涉及{points}个设计点），未计入统计。",
    "sentence.yearly_pairing": "到{year}年，{clauses}。",
    "sentence.yearly_first": (
        "{policy}下，结对覆盖了{value}的独居、空巢高龄（80岁及以上）老人{ci}，{start_year}年为{start}"
    ),
    "sentence.yearly_more": "{policy}下为{value}{ci}，{start_year}年为{start}",
    "sentence.yearly_ci": "（95%置信区间{low}至{high}）",
    "sentence.single_policy": "在{policy}下，{metric}为{value}。",
    "index.ST": "ST",
    "index.mu_star": "μ*",
}

_EN = {
    **_EN_METRICS,
    "policy.pairing": "Young-old pairing",
    "policy.nearest": "Centre dispatch",
    "policy.broadcast": "App broadcast",
    "policy.grid": "Grid dispatch",
    "policy.station": "Service stations",
    "policy.random": "Random dispatch",
    "policy.neighbours": "Neighbours' watch",
    "variable.scenario": "Scenario",
    "scenario.chaoyangli": "an ordinary year",
    "scenario.chaoyangli-stress": "a winter month of strain",
    "unit.hours": "h",
    "note.serves_only_paired": " (serves only paired elders)",
    "series.orders_placed": "Orders placed per day",
    "series.orders_served": "Orders served per day",
    "series.orders_unmet": "Orders unmet per day",
    "series.active_volunteers": "Active volunteers",
    "series.coverage_15min_share": "15-minute circle coverage",
    "yearly.paired_elders_share": "Old-old living alone or in empty nests with a pair (%)",
    "yearly.active_volunteers": "Active volunteers (people)",
    "yearly.active_volunteers_60_69": "Active volunteers aged 60-69 (people)",
    "yearly.residents_80_plus": "Residents aged 80 and over (people)",
    "yearly.response_time_p90_min": "90th-percentile response time (min)",
    "yearly.unmet_share": "Share of orders unmet (%)",
    "yearly.helpers_60_69_per_eligible_elder": "Active helpers aged 60-69 per eligible elder",
    "yearly.eligible_served_by_pair_share": "Eligible elders' orders served by a pair (%)",
    "yearly.active_volunteer_age_mean_years": "Mean age of active volunteers (years)",
    "yearly.burnout_stops": "Volunteers stopping from burnout (per year)",
    "yearly.urgent_response_time_p90_min": "90th-percentile urgent response time (min)",
    "yearly.urgent_unmet_share": "Urgent orders unmet (%)",
    "yearly.same_day_unmet_share": "Same-day orders unmet (%)",
    "yearly.scheduled_unmet_share": "Scheduled orders unmet (%)",
    "yearly.orders_per_helper_per_month": "Services per helper per month (workload)",
    "sentence.threshold_below": "under {policy} ({where}) below it from {year}",
    "sentence.threshold_above": "under {policy} ({where}) never below it through {year}",
    "sentence.threshold": (
        "Is pairing sustainable? Active helpers aged 60-69 per eligible elder, against a "
        "threshold of {threshold}: {clauses}."
    ),
    "sentence.threshold_runs": (
        " ({runs} of {total} runs fall below it, 10-90% of them first in {early}-{late})"
    ),
    "sentence.threshold_runs_none": " (none of {total} runs falls below it)",
    "sentence.posterior": (
        "Each run drew one of the history calibration's {sets} accepted parameter sets "
        "({drawn} drawn in all), so the spread includes what the calibration leaves open, "
        "not only seed noise."
    ),
    "variable.volunteers.active_share_of_registered": "Active share of registered volunteers",
    "variable.acceptance.base_probability": "Base acceptance probability",
    "variable.volunteers.registered_share_of_residents": "Registered share of residents",
    "variable.volunteers.count": "Active volunteers",
    "variable.demand.max_wait_min": "Longest wait of an order (min)",
    "variable.dispatch.broadcast_k": "Volunteers alerted first",
    "variable.dispatch.pairing_max_distance_m": "Longest pairing distance (m)",
    "variable.travel.speed_m_per_min": "Walking speed (m/min)",
    "variable.dynamics.recruitment_effort": "Recruitment effort (today = 1)",
    "variable.dynamics.ageing_speed": "Ageing speed (today = 1)",
    "variable.policy": "Policy",
    "unit.min": "min",
    "unit.pct": "%",
    "unit.pp": "pp",
    "unit.orders": "orders",
    "unit.people": "people",
    "unit.stars": "stars",
    "unit.none": "",
    "text.space": " ",
    "text.comma": ", ",
    "text.semicolon": "; ",
    "page.title": "{name}: experiment report",
    "page.subtitle": "Volunteer service in Chaoyangli community (volsim)",
    "section.summary": "Summary",
    "section.comparison": "Each policy against the baseline",
    "section.distribution": "Response-time distributions",
    "section.map": "Community map: holes in the 15-minute circle",
    "section.series": "Daily orders and volunteers",
    "section.workload": "Volunteer workload",
    "section.sweep": "Sweep: {variable}",
    "section.yearly": "Year by year: ageing, volunteers and pairing",
    "section.sensitivity": "Sensitivity analysis",
    "section.table": "Summary table",
    "section.about": "About this experiment",
    "caption.comparison": (
        "Mean paired difference from the baseline ({baseline}) with its 95% confidence interval "
        "(runs paired by seed). Filled dots: significant after Holm correction; open dots: not."
    ),
    "caption.distribution": (
        "Share of all orders served within t minutes (seeds pooled); each curve ends at the "
        "share of orders served. The dashed line marks 15 minutes."
    ),
    "caption.map": (
        "Each building's urgent orders: mean response time and share unmet ({policies}, summed "
        "over seeds). Thick red outline: mean response above 15 minutes beyond seed noise (the "
        "95% interval of the seeds' means lies above 15 minutes), a hole in the 15-minute "
        "circle; dashed lines: grid boundaries."
    ),
    "caption.series": "Daily values: mean over seeds (line) and 10-90% range of seeds (band).",
    "caption.series_smoothed": (
        "7-day rolling mean: mean over seeds (line) and 10-90% range of seeds (band)."
    ),
    "caption.workload": (
        "Left: Lorenz curves of volunteer workload (averaged over seeds); right: Gini "
        "coefficient, mean and 95% confidence interval."
    ),
    "caption.sweep": "Each metric's mean and 95% confidence interval against {variable}, "
    "one line per policy.",
    "caption.sweep_sampled": (
        "Dots: the mean at each design point ({variable} sampled); line: the mean of the point "
        "means and its 95% confidence interval within {bins} quantile bins of {variable}."
    ),
    "caption.sobol": (
        "First-order Sobol index S1 (dark, narrow) and total index ST (light, wide); error bars: "
        "the 95% confidence interval of ST."
    ),
    "caption.morris": "Morris indices: μ* (bars, 95% confidence interval) and σ (dots).",
    "caption.yearly": (
        "Values at the end of each simulated year (response time and share unmet over that "
        "year's orders): mean over seeds (line) and 10-90% range of seeds (band). The share "
        "paired exists only for policies that pair. Policies share their seeds, so series the "
        "policy does not change (such as residents) lie on top of one another."
    ),
    "caption.reference": "Other variables at: {values}.",
    "caption.clipped": "Intervals are cut at the range a metric can take (such as 0-100%).",
    "caption.pooled": "All design points of the sampled design pooled.",
    "caption.table": "Mean [95% confidence interval] of the key metrics per policy.",
    "note.no_policy": "This experiment has one policy only: there is no difference to show.",
    "note.no_layout": "Each seed lays out its own community (fixed_layout = false): "
    "no single map can be drawn.",
    "note.layout_mismatch": "The results' buildings do not match the scenario: no map.",
    "note.not_applicable": "This experiment has no data for this.",
    "note.no_yearly": "The runs are shorter than two years: there is no yearly series to show.",
    "figure.comparison": "Difference from the baseline ({baseline})",
    "figure.distribution": "Cumulative distribution of response times",
    "figure.map_response": "{policy}: mean urgent response time",
    "figure.map_unmet": "{policy}: share of orders unmet",
    "figure.series": "Daily series",
    "figure.lorenz": "Lorenz curves",
    "figure.gini": "Workload Gini coefficient",
    "figure.sweep": "Effect of {variable}",
    "figure.sensitivity": "Sensitivity indices",
    "figure.yearly": "Yearly series",
    "caption.yearly_posterior": (
        " Each run drew one of the history calibration's accepted parameter sets, so the band "
        "includes the calibration's uncertainty too."
    ),
    "axis.difference": "Difference from baseline ({unit})",
    "axis.difference_plain": "Difference from baseline",
    "axis.response_min": "Response time (min)",
    "axis.share_served_within": "Orders served within t (%)",
    "axis.day": "Day",
    "axis.year": "Year",
    "axis.volunteer_share": "Cumulative share of volunteers (%)",
    "axis.order_share": "Cumulative share of orders (%)",
    "axis.gini": "Gini coefficient",
    "axis.metres": "m",
    "axis.index": "Index",
    "axis.mean_response_min": "Mean urgent response time (min)",
    "axis.unmet_share_pct": "Orders unmet (%)",
    "axis.parameter": "Parameter",
    "axis.value_unit": "{label} ({unit})",
    "legend.baseline": "baseline",
    "legend.circle": "15 min",
    "legend.hole": "Mean urgent response over 15 min beyond seed noise (a hole)",
    "legend.service_point": "Service point",
    "legend.grid": "Grid boundary",
    "legend.no_data": "No served orders",
    "legend.equality": "Perfect equality",
    "legend.significant": "Significant (Holm)",
    "legend.not_significant": "Not significant",
    "legend.S1": "First-order S1",
    "legend.ST": "Total ST",
    "legend.mu_star": "μ*",
    "legend.sigma": "σ",
    "legend.grid_label": "Grid {n}",
    "table.policy": "Policy",
    "table.runs": "Runs",
    "about.experiment": "Experiment",
    "about.description": "Description",
    "about.scenario": "Scenario",
    "about.design": "Design",
    "about.runs": "Runs",
    "about.runs_value": "{runs} runs ({points} design points × {seeds} seeds, {days} days each)",
    "about.failed": "Failed runs",
    "about.baseline": "Baseline policy",
    "about.created": "Created",
    "about.version": "Model version",
    "about.revision": "Code revision",
    "sentence.overview": (
        "The experiment made {runs} simulation runs ({points} design points × {seeds} seeds, "
        "{days} days each) and compares every policy with {baseline}{where}."
    ),
    "sentence.overview_single": (
        "The experiment made {runs} simulation runs ({points} design points × {seeds} seeds, "
        "{days} days each) of one policy, {baseline}{where}."
    ),
    "sentence.where": ", with the other variables at {values}",
    "sentence.where_pooled": ", pooling all sampled design points",
    "sentence.lower": "{policy} cut the {metric} from {base} to {value}",
    "sentence.higher": "{policy} raised the {metric} from {base} to {value}",
    "sentence.same": "{policy} left the {metric} unchanged at {value}",
    "sentence.interval": " (difference {diff}, 95% CI {low} to {high}; {significance})",
    "sentence.significant": "significant after Holm correction, p {p}",
    "sentence.not_significant": "not significant after Holm correction, p {p}",
    "sentence.untested": "too few seeds to test",
    "sentence.unmet": ", and left {unmet}% of orders unmet (baseline {base_unmet}%).",
    "sentence.end": ".",
    "sentence.holm": (
        "Confidence intervals are not adjusted for multiple comparisons; significance is judged "
        "on Holm-adjusted p-values over all {tests} comparisons."
    ),
    "sentence.best": "The lowest {metric} was under {policy} ({value}).",
    "sentence.best_high": "The highest {metric} was under {policy} ({value}).",
    "sentence.in_scenario": "In {scenario} ({days} days each):",
    "sentence.holes": (
        "Under {policy}, {holes} of {buildings} buildings have a mean urgent response time above "
        "15 minutes beyond seed noise: holes in the 15-minute volunteer service circle."
    ),
    "sentence.no_holes": (
        "Under {policy}, none of {buildings} buildings has a mean urgent response time above "
        "15 minutes beyond seed noise."
    ),
    "sentence.sensitivity": (
        "The parameter with the largest effect on the {metric} is {parameter} ({index} = {value})."
    ),
    "sentence.failed": (
        "{failed} runs did not finish (in {points} design points) and are left out of the "
        "statistics."
    ),
    "sentence.yearly_pairing": "By {year}, pairs covered {clauses}.",
    "sentence.yearly_first": (
        "{value} of the old-old (80 and over) living alone or in empty nests under {policy}{ci}, "
        "against {start} in {start_year}"
    ),
    "sentence.yearly_more": "{value} under {policy}{ci}, against {start} in {start_year}",
    "sentence.yearly_ci": " (95% CI {low} to {high})",
    "sentence.single_policy": "Under {policy}, the {metric} was {value}.",
    "index.ST": "ST",
    "index.mu_star": "μ*",
}

LABELS: dict[str, dict[str, str]] = {"zh": _ZH, "en": _EN}


def t(lang: str, key: str, **values: object) -> str:
    """The text of ``key`` in ``lang``, with ``{name}`` fields filled from ``values``."""
    text = LABELS[lang][key]
    return text.format(**values) if values else text


def policy_name(lang: str, policy: str) -> str:
    """A policy or chain (``pairing+broadcast``) in words: 花甲助耄耋结对 + 志愿和平App广播; a
    chain that leaves some elders no route to service says so ("serves only paired elders")."""
    from sim.dispatch import POLICIES  # the one registry of policies

    names = parse_chain(policy)
    words = " + ".join(t(lang, f"policy.{name}") for name in names)
    if not any(POLICIES[name].serves_all_elders for name in names if name in POLICIES):
        words += t(lang, "note.serves_only_paired")
    return words


def metric_name(lang: str, metric: str) -> str:
    return t(lang, f"metric.{metric}")


def variable_name(lang: str, variable: str) -> str:
    """A design variable in words; a key without a label is shown as it is (a scenario key)."""
    return LABELS[lang].get(f"variable.{variable}", variable)


def unit(lang: str, metric: str, difference: bool = False) -> str:
    _, _, plain, diff = FORMATS.get(metric, (1.0, 2, "unit.none", "unit.none"))
    return t(lang, diff if difference else plain)


def scaled(metric: str, value: float) -> float:
    """A metric's value in the unit it is shown in (shares as percentages)."""
    return value * FORMATS.get(metric, (1.0,))[0]


def number(value: float, digits: int = 1) -> str:
    """A number with ``digits`` decimals and a true minus sign; NaN as an en dash."""
    if value is None or not math.isfinite(value):
        return "–"
    text = f"{value:,.{digits}f}"
    if text.lstrip("-").strip("0.,") == "":
        text = text.lstrip("-")  # no "−0.0"
    return text.replace("-", "−")


def metric_number(metric: str, value: float) -> str:
    """A metric's value written as the report writes it (scaled, rounded)."""
    scale, digits, _, _ = FORMATS.get(metric, (1.0, 2, "", ""))
    return number(value * scale if value is not None else value, digits)


def amount(lang: str, metric: str, value: float, difference: bool = False) -> str:
    """A metric's value with its unit: ``12.5 min``, ``85.0%``, ``12.5分钟``, ``3.0个百分点``."""
    units = unit(lang, metric, difference)
    space = " " if lang == "en" and units and units != "%" else ""
    return f"{metric_number(metric, value)}{space}{units}"


def axis_label(lang: str, metric: str) -> str:
    """``Label (unit)`` for an axis or table header; a unitless metric has no parentheses."""
    name, units = metric_name(lang, metric), unit(lang, metric)
    return t(lang, "axis.value_unit", label=name, unit=units) if units else name


def scenario_name(lang: str, value: object) -> str:
    """A scenario file (a ``scenario`` variable's value) by its name in words, if it has one."""
    stem = Path(str(value)).stem
    return t(lang, f"scenario.{stem}") if f"scenario.{stem}" in LABELS[lang] else stem


def level(lang: str, variable: str, value: object) -> str:
    """A design variable's value as shown: numbers rounded, a scenario file by its name."""
    if variable == "scenario":
        return scenario_name(lang, value)
    return number(float(value), 2) if isinstance(value, float) else str(value)


def variable_value(lang: str, variable: str, value: object) -> str:
    """``Name = value`` for a design variable at one of its values (a scenario by its name)."""
    shown = level(lang, variable, value)
    return f"{variable_name(lang, variable)} = {shown}"
