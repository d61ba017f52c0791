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
    "variable.dispatch.broadcast.k": "广播首批人数",
    "variable.dispatch.pairing.max_distance_m": "结对最远距离（米）",
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
    "caption.map_district": (
        "各社区紧急需求第90百分位响应时间（{policies}，各随机种子的均值）。"
        "黑色粗框：朝阳里社区。灰色：无紧急需求得到服务。"
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
    "figure.map_district": "{policy}：各社区紧急需求第90百分位响应时间",
    "legend.highlight_community": "朝阳里社区",
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
    "variable.dispatch.broadcast.k": "Volunteers alerted first",
    "variable.dispatch.pairing.max_distance_m": "Longest pairing distance (m)",
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
    "caption.map_district": (
        "Each community's 90th-percentile urgent response time ({policies}, mean over seeds). "
        "Thick black outline: Chaoyangli. Grey: no urgent order served."
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
    "figure.map_district": "{policy}: 90th-percentile urgent response time by community",
    "legend.highlight_community": "Chaoyangli",
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

#: the report of a `volsim optimise` folder (sim/report/optimise.py)
_ZH_OPTIMISE = {
    "optimise.title": "杠杆优化：{name}",
    "optimise.subtitle": "volsim optimise：社区可调的杠杆，同一组随机种子比较，"
    "最优者在新种子上复核",
    "optimise.section.front": "候选方案与最优前沿",
    "optimise.section.map": "所选站点与招募地点",
    "optimise.section.recheck": "新种子复核（95%置信区间）",
    "optimise.section.about": "搜索设置",
    "optimise.caption.front": "每个点是一个候选方案（{seeds}个相同种子的均值）；"
    "红色为复核的方案，竖线为{fresh}个新种子上的95%置信区间。",
    "optimise.caption.map": "最优方案（{trial}号）：星号为服务点所在楼门，"
    "楼栋颜色为新招募的志愿者人数。",
    "optimise.axis.trial": "候选方案序号",
    "optimise.legend.trial": "候选方案（搜索种子）",
    "optimise.legend.recheck": "复核（新种子，95%置信区间）",
    "optimise.legend.front": "最优前沿",
    "optimise.legend.site": "所选服务点站址",
    "optimise.legend.recruit_site": "招募楼门",
    "optimise.axis.recruits": "新招募志愿者（人）",
    "optimise.note.no_sites": "所选杠杆不涉及地点（服务点或招募），无需地图。",
    "optimise.col.trial": "方案",
    "optimise.col.levers": "杠杆取值",
    "optimise.col.metric": "指标",
    "optimise.col.search": "搜索种子均值",
    "optimise.col.recheck": "新种子均值",
    "optimise.col.ci": "95%置信区间",
    "optimise.about.levers": "杠杆",
    "optimise.about.objectives": "目标",
    "optimise.about.seeds": "种子",
    "optimise.about.seeds_value": "每个方案{seeds}个相同种子；复核{fresh}个新种子",
    "optimise.about.trials": "已完成方案",
    "optimise.about.scenario": "情景文件",
    "optimise.direction.minimize": "越小越好",
    "optimise.direction.maximize": "越大越好",
}
_EN_OPTIMISE = {
    "optimise.title": "Levers optimised: {name}",
    "optimise.subtitle": "volsim optimise: levers a community controls, every candidate on the "
    "same seeds, the best re-checked on fresh seeds",
    "optimise.section.front": "Candidates and the best front",
    "optimise.section.map": "Chosen sites and where to recruit",
    "optimise.section.recheck": "Re-check on fresh seeds (95% confidence intervals)",
    "optimise.section.about": "How the search was set up",
    "optimise.caption.front": "Each dot is a candidate (mean over the same {seeds} seeds); red: "
    "the candidates re-checked, with their 95% confidence interval over {fresh} fresh seeds.",
    "optimise.caption.map": "The best candidate (trial {trial}): stars mark the stairwells where "
    "its service points stand; buildings are coloured by the volunteers it recruits there.",
    "optimise.axis.trial": "Candidate (trial number)",
    "optimise.legend.trial": "Candidate (search seeds)",
    "optimise.legend.recheck": "Re-check (fresh seeds, 95% CI)",
    "optimise.legend.front": "Best front",
    "optimise.legend.site": "Chosen service point site",
    "optimise.legend.recruit_site": "Recruiting stairwell",
    "optimise.axis.recruits": "Volunteers recruited",
    "optimise.note.no_sites": "The levers place nothing (no service points, no recruitment): "
    "no map.",
    "optimise.col.trial": "Trial",
    "optimise.col.levers": "Levers",
    "optimise.col.metric": "Metric",
    "optimise.col.search": "Mean, search seeds",
    "optimise.col.recheck": "Mean, fresh seeds",
    "optimise.col.ci": "95% CI",
    "optimise.about.levers": "Levers",
    "optimise.about.objectives": "Objectives",
    "optimise.about.seeds": "Seeds",
    "optimise.about.seeds_value": "{seeds} common seeds per candidate; {fresh} fresh seeds "
    "for the re-check",
    "optimise.about.trials": "Trials completed",
    "optimise.about.scenario": "Scenario file",
    "optimise.direction.minimize": "lower is better",
    "optimise.direction.maximize": "higher is better",
}
_ZH.update(_ZH_OPTIMISE)
_EN.update(_EN_OPTIMISE)
# --- what holds across the assumptions (sim/report/robustness.py) -------------------------------

#: each ranged assumption (scenarios/ranges/assumed.toml) in plain words, zh and en, and its unit
#: (a key of PARAMETER_UNITS; "pct": a share or probability, shown as a percentage)
PARAMETERS: dict[str, tuple[str, str, str]] = {
    "community.floors_per_building": ("每栋楼层数", "floors per building", "floors"),
    "population.leave_home_per_year": (
        "成年子女每年离家率",
        "adult children leaving home",
        "per_year",
    ),
    "population.alone_elder_moves_per_year_60_79": (
        "60–79岁独居老人每年迁居率",
        "moves of elders 60–79 living alone",
        "per_year",
    ),
    "population.alone_elder_moves_per_year_80_plus": (
        "80岁以上独居老人每年迁居率",
        "moves of elders 80+ living alone",
        "per_year",
    ),
    "population.single_partner_per_year": (
        "单身者每年结伴率",
        "singles finding a partner",
        "per_year",
    ),
    "population.moves_in_with_family_share": (
        "迁居老人投靠子女的比例",
        "movers who move in with family",
        "pct",
    ),
    "volunteers.min_age_years": ("志愿者最低年龄", "volunteers' minimum age", "years"),
    "volunteers.weekly_budget_hours": (
        "志愿者每周可服务时长",
        "weekly hours of a volunteer",
        "hours",
    ),
    "volunteers.max_services_per_week": ("志愿者每周最多服务次数", "most services a week", ""),
    "demand.max_wait_min": ("订单最长等待", "longest wait of an order", "min"),
    "demand.type_shares.daily_help": ("生活帮扶需求占比", "share of daily-help orders", "pct"),
    "demand.type_shares.shopping": ("代购需求占比", "share of shopping orders", "pct"),
    "demand.type_shares.medical_escort": ("陪诊需求占比", "share of medical escorts", "pct"),
    "demand.type_shares.companionship_check": (
        "探访陪伴需求占比",
        "share of companionship checks",
        "pct",
    ),
    "demand.type_shares.repair": ("维修需求占比", "share of repairs", "pct"),
    "service.cv": ("服务时长变异系数", "spread of service times (CV)", ""),
    "service.mean_min_by_type.daily_help": ("生活帮扶平均用时", "mean time of daily help", "min"),
    "service.mean_min_by_type.shopping": ("代购平均用时", "mean time of shopping", "min"),
    "service.mean_min_by_type.medical_escort": (
        "陪诊平均用时",
        "mean time of a medical escort",
        "min",
    ),
    "service.mean_min_by_type.companionship_check": (
        "探访陪伴平均用时",
        "mean time of a companionship check",
        "min",
    ),
    "service.mean_min_by_type.repair": ("维修平均用时", "mean time of a repair", "min"),
    "service.mean_min_by_type.urgent": ("紧急求助平均用时", "mean time of an urgent call", "min"),
    "travel.speed_m_per_min": ("步行速度", "walking speed", "m_per_min"),
    "travel.stair_min_per_floor": ("每层楼梯用时", "stair time per floor", "min_per_floor"),
    "acceptance.base_probability": ("志愿者接单基础概率", "base acceptance probability", "pct"),
    "acceptance.distance_scale_m": ("接单意愿的距离尺度", "distance scale of acceptance", "m"),
    "acceptance.load_penalty_per_order_today": (
        "当日每多接一单的接单意愿下降",
        "acceptance lost per order taken today",
        "",
    ),
    "acceptance.fatigue_weight": ("疲劳对接单的影响", "weight of fatigue in acceptance", ""),
    "acceptance.familiarity_multiplier": (
        "熟悉的老人求助时的接单倍数",
        "acceptance multiplier for a familiar elder",
        "",
    ),
    "acceptance.off_duty_multiplier": ("非值班时的接单倍数", "acceptance multiplier off duty", ""),
    "acceptance.on_shift_multiplier": ("值班时的接单倍数", "acceptance multiplier on shift", ""),
    "acceptance.full_fatigue_work_min": ("累到极限的工作时长", "work until fully tired", "min"),
    "acceptance.fatigue_recovery_per_day": ("每日疲劳恢复比例", "fatigue shed per day", "pct"),
    "channels.centre_call.answer_delay_mean_min": (
        "中心来电的平均应答时间",
        "volunteers' mean time to answer the centre's call",
        "min",
    ),
    "channels.app.answer_delay_mean_min": (
        "志愿者应答App推送的平均时间",
        "volunteers' mean time to answer an app alert",
        "min",
    ),
    "channels.phone.answer_delay_mean_min": (
        "志愿者接电话的平均时间",
        "volunteers' mean time to answer a phone call",
        "min",
    ),
    "channels.focal_call.answer_delay_mean_min": (
        "楼门长、网格员来电的平均应答时间",
        "mean time to answer a stairwell head's call",
        "min",
    ),
    "channels.knock.answer_delay_mean_min": (
        "上门敲门的平均应答时间",
        "mean time to answer a knock",
        "min",
    ),
    "channels.walk_in.answer_delay_mean_min": (
        "到站求助的平均应答时间",
        "mean time to answer a walk-in",
        "min",
    ),
    "needs.same_day_window_min": ("当日需求的服务时限", "window of a same-day need", "min"),
    "needs.scheduled_window_min": ("预约需求的准时窗口", "window of a scheduled need", "min"),
    "needs.scheduled_notice_min": ("预约需求的提前量", "notice of a scheduled need", "min"),
    "dispatch.broadcast.phase_min": ("App广播每轮时长", "length of a broadcast round", "min"),
    "dispatch.pairing.max_elders_per_helper": (
        "每位结对助老者最多结对老人数",
        "most elders per pairing helper",
        "",
    ),
    "dispatch.retry_interval_min": ("派单重试间隔", "wait before dispatch retries", "min"),
    "rating.base_stars": ("基础评分", "base rating", "stars"),
    "rating.late_penalty_per_min": (
        "迟到每分钟扣分",
        "rating lost per minute late",
        "stars_per_min",
    ),
    "rating.familiar_bonus_stars": ("熟人服务加分", "bonus for a familiar helper", "stars"),
    "rating.noise_sd_stars": ("评分的随机波动", "noise of ratings (sd)", "stars"),
    "dynamics.departure_per_year_under_18": (
        "18岁以下志愿者每年退出率",
        "departures of volunteers under 18",
        "per_year",
    ),
    "dynamics.departure_per_year_18_59": (
        "18–59岁志愿者每年退出率",
        "departures of volunteers 18–59",
        "per_year",
    ),
    "dynamics.departure_per_year_60_plus": (
        "60岁以上志愿者每年退出率",
        "departures of volunteers 60+",
        "per_year",
    ),
    "dynamics.motivation_initial": ("志愿者初始积极性", "volunteers' initial motivation", ""),
    "dynamics.rating_gain_per_star": ("每颗星带来的积极性", "motivation gained per star", ""),
    "dynamics.rating_neutral_stars": (
        "不增不减积极性的评分",
        "rating that leaves motivation as is",
        "stars",
    ),
    "dynamics.recognition_gain_per_hour": (
        "每服务一小时的积分激励",
        "motivation from recognition per hour",
        "per_hour",
    ),
    "dynamics.rest_recovery_per_day": (
        "每日休息恢复的积极性",
        "motivation regained per day of rest",
        "",
    ),
    "dynamics.overwork_loss_per_hour": (
        "每小时超负荷的积极性损失",
        "motivation lost per hour of overwork",
        "per_hour",
    ),
    "dynamics.comfortable_work_min_per_day": ("每日舒适工作时长", "comfortable work a day", "min"),
    "dynamics.decline_loss": ("每次拒单的积极性损失", "motivation lost per declined offer", ""),
    "dynamics.stop_motivation_sensitivity": (
        "退出对积极性的敏感度",
        "sensitivity of quitting to motivation",
        "",
    ),
    "dynamics.burnout_fatigue": ("倦怠时的疲劳程度", "fatigue at burnout", ""),
    "dynamics.leave_registry_per_year": (
        "每年注销注册率",
        "volunteers leaving the registry",
        "per_year",
    ),
    "dynamics.volunteer_day_multiplier": ("志愿服务日的倍数", "volunteer-day multiplier", ""),
    "dynamics.volunteer_week_multiplier": ("志愿服务周的倍数", "volunteer-week multiplier", ""),
    "dynamics.market_multiplier": ("公益集市的倍数", "welfare-market multiplier", ""),
    "dynamics.repair_interval_days": ("结对重组周期", "pairs re-formed every", "days"),
    "dynamics.update_interval_days": ("人员变动的更新周期", "people change every", "days"),
}

#: a parameter's unit in zh and en (after the number; "pct" multiplies by 100)
PARAMETER_UNITS: dict[str, tuple[str, str]] = {
    "": ("", ""),
    "pct": ("%", "%"),
    "min": ("分钟", "min"),
    "m": ("米", "m"),
    "m_per_min": ("米/分钟", "m/min"),
    "min_per_floor": ("分钟/层", "min/floor"),
    "per_year": ("/年", "/year"),
    "per_hour": ("/小时", "/h"),
    "hours": ("小时", "h"),
    "years": ("岁", "years"),
    "days": ("天", "days"),
    "floors": ("层", "floors"),
    "stars": ("星", "stars"),
    "stars_per_min": ("星/分钟", "stars/min"),
}

_ZH_HOLDS = {
    "section.holds": "哪些结论站得住，哪些取决于假设",
    "holds.intro": (
        "实验在其文件给出的范围内抽样{sampled}个假设参数（稳健性设计的范围取自"
        "scenarios/ranges/assumed.toml），各派单方式在每个样本点上用相同的随机种子运行。一项比较“站得住”是指：A在至少{holds}的样本点上优于B，"
        "且B超出种子噪声（{noise_se}倍标准误）优于A的样本点少于{noise}。其余比较都附上"
        "使其成立的条件：PRIM找出的、结论翻转的区域（覆盖率：翻转的点中落在区域内的比例；"
        "密度：区域内翻转的点所占比例）。同样的方法再分别在一半相互独立的样本块上找区域，在另一半上"
        "检验（两折交叉）：只有当两半各自找出的区域都含有至少{blocks}个留出的样本块、都限定了"
        "所写区域中的某个假设，留出点中落在区域内而结论翻转的至少占{confirm}、且至少是全部样本点"
        "中翻转比例的{lift}倍，并且所写区域本身的密度也至少为{confirm}时，才作为条件写出。"
        "两种方式中任何一方超出种子噪声更好的样本点都少于{noise}时，记为分不出优劣。"
    ),
    "holds.scenario": "情景：{scenario}",
    "holds.metric": "{metric}",
    "holds.col.pair": "比较",
    "holds.col.a_better": "A更好",
    "holds.col.b_better": "B更好",
    "holds.col.noise": "超出噪声时B更好 / A更好",
    "holds.col.verdict": "结论",
    "holds.col.where": "翻转的区域",
    "holds.col.coverage": "覆盖率",
    "holds.col.density": "密度",
    "holds.verdict.holds": "站得住：{winner}更好",
    "holds.verdict.depends": "取决于假设",
    "holds.verdict.equal": "无差别",
    "holds.verdict.within_noise": "分不出优劣（在种子噪声之内）",
    "holds.one_seed": (
        "每个样本点只有一个随机种子：无法衡量种子噪声，因此不判定任何比较“站得住”或“分不出优劣”；"
        "表中的比例只是单次运行中一方优于另一方的样本点所占比例。"
    ),
    "holds.clustered": (
        "注意：本设计的{points}个样本点分属{blocks}个相互独立的块（Morris轨迹或Sobol基准行），"
        "并非对假设空间的独立抽样，因此以下比例只是粗略估计；各比较在整个空间中所占的比例以"
        "拉丁超立方设计（experiments/robustness-discovery.toml）为准。"
    ),
    "holds.col.held_out": "留出点上的密度",
    "holds.everywhere": "处处如此",
    "holds.no_box": "未找到少数几个决定性假设",
    "holds.pair": "{a} 对 {b}",
    "holds.ranking": "哪些假设最重要：{metric}",
    "holds.ranking_caption": (
        "Morris筛选：μ*为基本效应绝对值的均值（指标的单位），σ为其标准差（大：效应随其他"
        "假设变化或非线性；一条轨迹时无σ）。取各派单方式的平均，前{top}个。"
    ),
    "holds.sobol": "Sobol指数：{metric}",
    "holds.sobol_caption": (
        "Sobol一阶指数S1（该假设单独解释的方差比例）与总指数ST（含交互作用），±为95%置信区间"
        "半宽；按各派单方式ST的平均排序，前{top}个。"
    ),
    "holds.col.rank": "排名",
    "holds.col.parameter": "假设",
    "holds.col.range": "合理范围",
    "holds.col.mu_star": "μ*",
    "holds.col.sigma": "σ",
    "holds.sobol_cell": "S1 {s1} ± {s1c}；ST {st} ± {stc}",
    "holds.condition.above": "{name}高于{value}",
    "holds.condition.below": "{name}低于{value}",
    "holds.condition.between": "{name}在{low}至{high}之间",
    "holds.condition.and": "且",
    "sentence.holds_rule": (
        "只有在整个合理假设空间内都站得住的比较才列为结论：A在至少{holds}的样本点上优于B，且B超出"
        "种子噪声优于A的样本点少于{noise}；其余比较注明其成立的条件。"
    ),
    "sentence.holds_found": "{metric}：在整个合理假设空间内站得住的是{pairs}。",
    "holds.lead": "{scenario}，",
    "sentence.holds_none": "{metric}：没有一项比较在整个合理假设空间内站得住。",
    "sentence.holds_pair": "{a}优于{b}（{share}的样本点）",
    "sentence.depends": ("{a}在{share}的合理假设空间内{metric}优于{b}；当{condition}时不如{b}。"),
    "sentence.depends_nobox": (
        "{a}在{share}的合理假设空间内{metric}优于{b}；其余情形没有少数几个假设能说清。"
    ),
    "sentence.no_difference": "{a}与{b}的{metric}在所有样本点上都相同。",
    "sentence.within_noise": (
        "{a}与{b}的{metric}在{share}的样本点上相差不超过种子噪声，分不出优劣。"
    ),
    "sentence.assumed_values": (
        "以上比较都基于情景的假设取值；其中哪些在各假设的合理范围内站得住，由稳健性实验检验"
        "（experiments/robustness-discovery.toml；volsim report DIR --robustness 稳健性结果目录）。"
    ),
    "sentence.robust_prefix": "在合理假设范围内（稳健性实验{name}）：",
    "sentence.robust_holds": "{a}的{metric}优于{b}，站得住（{share}的样本点）。",
    "sentence.matters": "对{metric}影响最大的假设（{scenario}，Morris μ*）：{parameters}。",
    "sentence.robust_missing": "稳健性实验{name}中没有本情景，无法判断哪些比较站得住。",
}

_EN_HOLDS = {
    "section.holds": "What holds, and what depends on assumptions",
    "holds.intro": (
        "The experiment samples {sampled} assumed parameters across the ranges its file gives "
        "them (the robustness designs take them from scenarios/ranges/assumed.toml), and every "
        "policy runs at every sampled point on the same seeds. A comparison holds when A beats "
        "B at {holds} of the sampled points or more and B beats A beyond the seeds' noise "
        "({noise_se} standard errors) at fewer than {noise} of them. Every other comparison is "
        "given with its condition: the region, found by PRIM, where it flips (coverage: the "
        "share of the flipped points inside the region; density: the share of the region's "
        "points that flip). The same search is run again on each half of the independent blocks "
        "of points and its region measured on the other half (two-fold): a region is stated as "
        "a condition only if on both halves that region holds at least {blocks} held-out blocks "
        "and restricts one of the stated region's assumptions, the ranking flips at {confirm} "
        "or more of the held-out points inside them and at least {lift} times as often as over "
        "all points, and the stated region's own density is at least {confirm}. Two policies "
        "are within the noise when neither beats the other beyond the seeds' noise at {noise} "
        "of the points or more."
    ),
    "holds.scenario": "Scenario: {scenario}",
    "holds.metric": "{metric}",
    "holds.col.pair": "Comparison",
    "holds.col.a_better": "A better",
    "holds.col.b_better": "B better",
    "holds.col.noise": "B / A better beyond noise",
    "holds.col.verdict": "Verdict",
    "holds.col.where": "Where it flips",
    "holds.col.coverage": "Coverage",
    "holds.col.density": "Density",
    "holds.verdict.holds": "holds: {winner} better",
    "holds.verdict.depends": "depends on assumptions",
    "holds.verdict.equal": "no difference",
    "holds.verdict.within_noise": "within the seeds' noise",
    "holds.one_seed": (
        "One seed per sampled point: the seeds' noise is not measured, so no comparison is said "
        "to hold or to be within the noise; the shares are of the points where one policy's "
        "single run beat the other's."
    ),
    "holds.clustered": (
        "Note: this design's {points} points fall in {blocks} independent blocks (Morris "
        "trajectories or Sobol base rows), not independent draws of the space, so the shares "
        "below are rough; the share of the space where each comparison holds is the Latin "
        "hypercube design's (experiments/robustness-discovery.toml)."
    ),
    "holds.col.held_out": "Held-out density",
    "holds.everywhere": "everywhere sampled",
    "holds.no_box": "no few assumptions single it out",
    "holds.pair": "{a} vs {b}",
    "holds.ranking": "Which assumptions matter most: {metric}",
    "holds.ranking_caption": (
        "Morris screening: μ* is the mean absolute elementary effect (in the metric's unit), σ "
        "its standard deviation (large: the effect depends on other assumptions or is not "
        "linear; none with one trajectory). Averaged over the policies; the top {top}."
    ),
    "holds.sobol": "Sobol indices: {metric}",
    "holds.sobol_caption": (
        "First-order Sobol index S1 (the share of the variance the assumption explains alone) "
        "and total index ST (with its interactions), ± the half-width of the 95% confidence "
        "interval; ordered by the policies' mean ST, the top {top}."
    ),
    "holds.col.rank": "Rank",
    "holds.col.parameter": "Assumption",
    "holds.col.range": "Plausible range",
    "holds.col.mu_star": "μ*",
    "holds.col.sigma": "σ",
    "holds.sobol_cell": "S1 {s1} ± {s1c}; ST {st} ± {stc}",
    "holds.condition.above": "the {name} is above {value}",
    "holds.condition.below": "the {name} is below {value}",
    "holds.condition.between": "the {name} is between {low} and {high}",
    "holds.condition.and": " and ",
    "sentence.holds_rule": (
        "Only comparisons that hold across the plausible space are stated as findings: A beats "
        "B at {holds} of the sampled points or more, and B beats A beyond the seeds' noise at "
        "fewer than {noise}; every other comparison is stated with its condition."
    ),
    "sentence.holds_found": "{metric}: across the plausible space, {pairs}.",
    "holds.lead": "in {scenario}, ",
    "sentence.holds_none": ("{metric}: no comparison holds across the whole plausible space."),
    "sentence.holds_pair": "{a} beats {b} ({share} of the points)",
    "sentence.depends": (
        "{a} beats {b} on the {metric} in {share} of the plausible space; it loses "
        "where {condition}."
    ),
    "sentence.depends_nobox": (
        "{a} beats {b} on the {metric} in {share} of the plausible space; no few "
        "assumptions single out where it loses."
    ),
    "sentence.no_difference": ("{a} and {b} have the same {metric} at every sampled point."),
    "sentence.within_noise": (
        "{a} and {b} do not differ on the {metric} beyond the seeds' noise at {share} of the "
        "sampled points."
    ),
    "sentence.assumed_values": (
        "These comparisons are at the scenario's assumed values; which of them hold across the "
        "plausible ranges of the assumptions is what the robustness experiment tests "
        "(experiments/robustness-discovery.toml; volsim report DIR --robustness ROBUSTNESS_DIR)."
    ),
    "sentence.robust_prefix": "Across the plausible ranges (robustness experiment {name}): ",
    "sentence.robust_holds": (
        "{a} beats {b} on the {metric}, and this holds ({share} of the points)."
    ),
    "sentence.matters": (
        "The assumptions that matter most for the {metric} ({scenario}, Morris μ*): {parameters}."
    ),
    "sentence.robust_missing": (
        "The robustness experiment {name} did not run this scenario: it cannot say which "
        "comparisons hold."
    ),
}

# result folders made before the policies' own tables ([dispatch.<policy>]) keep the old names
PARAMETERS["dispatch.broadcast_phase_min"] = PARAMETERS["dispatch.broadcast.phase_min"]
PARAMETERS["dispatch.pairing_max_elders_per_helper"] = PARAMETERS[
    "dispatch.pairing.max_elders_per_helper"
]

_ZH.update(_ZH_HOLDS)
_EN.update(_EN_HOLDS)
for _key, (_zh, _en, _unit) in PARAMETERS.items():
    _ZH[f"param.{_key}"], _EN[f"param.{_key}"] = _zh, _en


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
    """A design variable in words; a ranged assumption by its plain name and unit; any other
    key without a label as it is (a scenario key)."""
    if f"variable.{variable}" in LABELS[lang]:
        return LABELS[lang][f"variable.{variable}"]
    if variable in PARAMETERS:  # a share is plotted as a fraction: no "%" after its name
        name, units = parameter_name(lang, variable), parameter_unit(lang, variable)
        shown = units and PARAMETERS[variable][2] != "pct"
        return t(lang, "axis.value_unit", label=name, unit=units) if shown else name
    return variable


def parameter_name(lang: str, key: str) -> str:
    """A ranged assumption's plain name (no unit); a key without one as it is."""
    return LABELS[lang].get(f"param.{key}", key)


def parameter_unit(lang: str, key: str) -> str:
    """A ranged assumption's unit as written after its value (empty when it has none)."""
    unit_key = PARAMETERS.get(key, ("", "", ""))[2]
    return PARAMETER_UNITS[unit_key][LANGS.index(lang)]


def parameter_value(lang: str, key: str, value: float) -> str:
    """A ranged assumption's value in its unit: three significant digits (shares as
    percentages, whole numbers without decimals), with the unit: ``6 min``, ``32%``."""
    unit_key = PARAMETERS.get(key, ("", "", ""))[2]
    value = value * 100 if unit_key == "pct" else value
    text = f"{value:.3g}" if abs(value) < 1e4 else f"{value:,.0f}"
    text = text.replace("-", "−")
    units = parameter_unit(lang, key)
    space = " " if lang == "en" and units and units[0].isalnum() else ""
    return f"{text}{space}{units}"


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
